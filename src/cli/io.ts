/**
 * What every `keyward` command shares: exit statuses, the I/O it is given, the usage error, and
 * how results are printed.
 * @module
 */

/** Exit status: success. */
export const EXIT_OK = 0
/** Exit status: `check` found the key invalid, or the command failed (e.g. stdin unreadable). */
export const EXIT_INVALID = 1
/** Exit status: usage error (unknown command or option, bad pepper, empty or malformed input). */
export const EXIT_USAGE = 2

/** Where the command reads and writes. `process` in production; fakes in tests. */
export interface CliIo {
  /**
   * Key input for `hash` and `check -`. When it is a terminal (`isTTY`), `setRawMode` turns
   * echo off while the key is typed or pasted.
   */
  stdin: AsyncIterable<Uint8Array | string> & {
    isTTY?: boolean
    setRawMode?: (raw: boolean) => unknown
  }
  /** Results: the key and hash (`generate`), the hash (`hash`), the verdict (`check`), help. */
  stdout: { write(chunk: string): unknown }
  /** Errors, prompts and advice. Never receives a key. */
  stderr: { write(chunk: string): unknown }
  /** The environment; only `KEYWARD_PEPPER` is read. */
  env: Readonly<Record<string, string | undefined>>
}

/** A usage error: its message goes to stderr, the exit status is 2. Never holds a key. */
export class UsageError extends Error {}

/** `value` as one line of JSON. */
export function json(value: unknown): string {
  return `${JSON.stringify(value)}\n`
}

/** Reports a key prompt cancelled with Ctrl-C: exit status 1. */
export function cancelled(io: CliIo): number {
  io.stderr.write('keyward: cancelled\n')
  return EXIT_INVALID
}
