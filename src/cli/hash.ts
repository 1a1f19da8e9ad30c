/**
 * `keyward hash`: the hash of a key read from stdin.
 * @module
 */
import { hashKey } from '../keys/hash.js'
import { algorithmOf, readPepper } from './_pepper.js'
import { readKey } from './_stdin.js'
import type { Parsed } from './args.js'
import { cancelled, type CliIo, EXIT_OK, json, UsageError } from './io.js'

/** Runs `keyward hash`. */
export async function hash(parsed: Parsed, io: CliIo): Promise<number> {
  // `hash -` is accepted for symmetry with `check -`; any other argument may be a key.
  if (parsed.positionals.length > 1 || (parsed.positionals.length === 1 && parsed.positionals[0] !== '-')) {
    throw new UsageError('hash reads the key from stdin and takes no argument: printf \'%s\\n\' "$KEY" | keyward hash')
  }
  const pepper = readPepper(io.env)
  const key = await readKey(io)
  if (key === undefined) return cancelled(io)
  const digest = hashKey(key, pepper)
  io.stdout.write(parsed.values.json === true ? json({ hash: digest, algorithm: algorithmOf(pepper) }) : `${digest}\n`)
  return EXIT_OK
}
