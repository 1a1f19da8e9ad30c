/**
 * `keyward scan`: keys found in files, redacted.
 * @module
 */
import { readFile } from 'node:fs/promises'
import { findKeys, redactKeys } from './_find-keys.js'
import type { Parsed } from './args.js'
import { type CliIo, EXIT_INVALID, EXIT_OK, EXIT_USAGE, UsageError } from './io.js'

/**
 * `scan`: every file is read before anything is decided, so an unreadable file is a usage
 * error (2) even when another file holds a key. File names are printed with any key in them
 * redacted (a key pasted as an argument is not repeated), and I/O errors by their code only.
 */
export async function scan(parsed: Parsed, io: CliIo): Promise<number> {
  if (parsed.positionals.length === 0) throw new UsageError('scan needs at least one file: keyward scan <file>...')
  let found = 0
  let unreadable = 0
  for (const file of parsed.positionals) {
    const shown = redactKeys(file)
    let text: string
    try {
      // latin1 maps every byte to one character: keys are ASCII, and binary files scan too.
      text = (await readFile(file)).toString('latin1')
    } catch (e) {
      const code = (e as { code?: unknown }).code
      io.stderr.write(`keyward: cannot read ${JSON.stringify(shown)}${typeof code === 'string' ? ` (${code})` : ''}\n`)
      unreadable++
      continue
    }
    for (const k of findKeys(text)) {
      io.stdout.write(`${shown}:${k.line}:${k.column}: keyward key ${k.head}_… (redacted)\n`)
      found++
    }
  }
  if (found > 0) io.stderr.write(`keyward: ${found} key${found === 1 ? '' : 's'} found; revoke ${found === 1 ? 'it' : 'them'} and remove ${found === 1 ? 'it' : 'them'} from the files\n`)
  return unreadable > 0 ? EXIT_USAGE : found > 0 ? EXIT_INVALID : EXIT_OK
}
