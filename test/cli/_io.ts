/**
 * In-memory stand-ins for the CLI's stdin, stdout, stderr and environment.
 */
import type { CliIo } from '../../src/cli.js'

/** What a fake stdin yields: chunks in order, then EOF (or an error if `after` says so). */
export interface StdinScript {
  /** Chunks delivered one per read. */
  readonly chunks?: readonly (string | Uint8Array)[]
  /**
   * What happens when the command reads past the scripted chunks:
   * `'eof'` (default) ends the input; `'explode'` fails the test, proving the command stopped
   * reading in time; `'forever'` repeats the last chunk endlessly (a stream with no end).
   */
  readonly after?: 'eof' | 'explode' | 'forever'
  /** Pretend stdin is a terminal: `isTTY` is true and `setRawMode` calls are recorded. */
  readonly tty?: boolean
}

/** A fake I/O set and what the command did with it. */
export interface FakeIo {
  readonly io: CliIo
  /** Everything written to stdout. */
  out(): string
  /** Everything written to stderr. */
  err(): string
  /** Number of chunks the command pulled from stdin. */
  reads(): number
  /** Arguments of every `setRawMode` call, in order (terminal only). */
  readonly rawModes: boolean[]
}

/** Builds fake I/O. `env` is the whole environment the command sees. */
export function fakeIo(stdin: StdinScript = {}, env: Record<string, string> = {}): FakeIo {
  let out = ''
  let err = ''
  let reads = 0
  const rawModes: boolean[] = []
  const chunks = stdin.chunks ?? []
  const after = stdin.after ?? 'eof'
  async function* source(): AsyncGenerator<string | Uint8Array> {
    for (const c of chunks) {
      reads++
      yield c
    }
    if (after === 'explode') {
      reads++
      throw new Error('test: the command read past the point where it should have stopped')
    }
    const last = chunks.at(-1)
    if (after === 'forever' && last !== undefined) {
      for (;;) {
        reads++
        yield last
      }
    }
  }
  const input: CliIo['stdin'] = { [Symbol.asyncIterator]: source }
  if (stdin.tty === true) {
    input.isTTY = true
    input.setRawMode = (raw: boolean) => rawModes.push(raw)
  }
  return {
    io: {
      stdin: input,
      stdout: { write: (s: string) => (out += s) },
      stderr: { write: (s: string) => (err += s) },
      env,
    },
    out: () => out,
    err: () => err,
    reads: () => reads,
    rawModes,
  }
}

/** A valid-length pepper (≥ 32 bytes). */
export const PEPPER = 'pepper-for-tests-0123456789abcdef-xyz'
