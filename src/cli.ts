#!/usr/bin/env node
/**
 * The `keyward` command: generate a key, hash a key, check a key's format, scan files for keys.
 *
 * Rules the command keeps (here and in `cli/`), because it handles secrets on a terminal:
 * - Only `generate` ever prints a key (the one it has just created). `hash` and `check` never
 *   echo their input, not even in error messages; option names are only echoed when they cannot
 *   be a pasted key (see `displayOption` in `cli/args.ts`).
 * - Keys are read from stdin by preference (`hash`, `check -`): arguments land in shell history
 *   and in every user's `ps` listing. On a terminal the key is read with echo off.
 * - stdin is read one line at most and never more than a few hundred bytes, so a key pasted
 *   into the wrong pipe (a log, a dump) is not slurped whole.
 * - The pepper comes from `KEYWARD_PEPPER` only (an option would leak it like a key), is used
 *   exactly as given (it must match the server's `pepper`), and is never printed.
 *
 * Exit status: 0 success; 1 `check` found the key invalid, `scan` found a key, or the command
 * failed (I/O); 2 usage error (bad option, bad pepper, unreadable or empty key, a file `scan`
 * cannot read).
 * @module
 */
import { readFileSync, realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { COMMANDS, NO_PEPPER_OPTION, parseCommand } from './cli/args.js'
import { check } from './cli/check.js'
import { generate } from './cli/generate.js'
import { hash } from './cli/hash.js'
import { COMMAND_HELP, HELP } from './cli/help.js'
import { type CliIo, EXIT_INVALID, EXIT_OK, EXIT_USAGE, UsageError } from './cli/io.js'
import { scan } from './cli/scan.js'

export { type CliIo, EXIT_INVALID, EXIT_OK, EXIT_USAGE } from './cli/io.js'

/** The installed package's version, read next to the built file (`dist/../package.json`). */
function version(): string {
  try {
    const pkg: unknown = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
    const v = (pkg as { version?: unknown }).version
    return typeof v === 'string' ? v : 'unknown'
  } catch {
    return 'unknown'
  }
}

/**
 * Runs the `keyward` command with `argv` (without `node` and the script) and returns the exit
 * status. Never throws and never rejects: every failure is reported on `io.stderr`.
 *
 * @example
 * ```ts
 * const status = await main(['check', '-'], { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env })
 * ```
 */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const [command, ...rest] = argv
    if (command === undefined) {
      io.stderr.write(HELP)
      return EXIT_USAGE
    }
    if (command === '--help' || command === '-h' || command === 'help') {
      io.stdout.write(HELP)
      return EXIT_OK
    }
    if (command === '--version' || command === '-V' || command === '-v') {
      io.stdout.write(`${version()}\n`)
      return EXIT_OK
    }
    if (command === '--pepper' || command.startsWith('--pepper=')) throw new UsageError(NO_PEPPER_OPTION)
    const spec = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined
    if (spec === undefined) {
      // The command word is shown only if it looks like one: a key pasted in its place is not.
      const shown = /^[a-z][a-z-]{0,23}$/.test(command) ? ` "${command}"` : ''
      throw new UsageError(`unknown command${shown}; run "keyward --help"`)
    }
    const parsed = parseCommand(rest, spec)
    if (parsed.values.help === true) {
      io.stdout.write(COMMAND_HELP[command]!)
      return EXIT_OK
    }
    if (command === 'generate') return generate(parsed, io)
    if (command === 'hash') return await hash(parsed, io)
    if (command === 'scan') return await scan(parsed, io)
    return await check(parsed, io)
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(`keyward: ${e.message}\n`)
      return EXIT_USAGE
    }
    // Library errors never carry a key, a hash or a pepper (see errors.ts); I/O errors carry
    // paths and codes. The stack is left out: this is a command, not a crash report.
    const message = e instanceof Error ? e.message : String(e)
    io.stderr.write(`keyward: failed: ${message}\n`)
    return EXIT_INVALID
  }
}

/** True when this file is the program being run (directly, or via the `bin` symlink), not imported. */
function isProgram(): boolean {
  try {
    const script = process.argv[1]
    return script !== undefined && realpathSync(script) === realpathSync(fileURLToPath(import.meta.url))
  } catch {
    return false
  }
}

if (isProgram()) {
  // A closed pipe (`keyward generate | head -c 10`) must end the command quietly with a failure
  // status, not crash it with a stack trace, and not report success.
  let streamFailed = false
  const onStreamError = (): void => {
    streamFailed = true
    process.exitCode = EXIT_INVALID
  }
  process.stdout.on('error', onStreamError)
  process.stderr.on('error', onStreamError)
  void main(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env }).then((status) => {
    process.exitCode = streamFailed && status === EXIT_OK ? EXIT_INVALID : status
  })
}
