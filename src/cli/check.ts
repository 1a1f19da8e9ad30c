/**
 * `keyward check`: whether a key has keyward's format and a valid checksum (no store).
 * @module
 */
import { parseKey } from '../keys/format.js'
import { readKey } from './_stdin.js'
import type { Parsed } from './args.js'
import { cancelled, type CliIo, EXIT_INVALID, EXIT_OK, json, UsageError } from './io.js'

/** Runs `keyward check`. */
export async function check(parsed: Parsed, io: CliIo): Promise<number> {
  if (parsed.positionals.length !== 1) {
    throw new UsageError('check takes one key: "keyward check -" reads it from stdin (preferred), or "keyward check <key>"')
  }
  let key = parsed.positionals[0]!
  if (key === '-') {
    const read = await readKey(io)
    if (read === undefined) return cancelled(io)
    key = read
  } else if (key === '') {
    throw new UsageError('the key is empty')
  }
  const info = parseKey(key)
  const asJson = parsed.values.json === true
  if (info === undefined) {
    io.stdout.write(asJson ? json({ valid: false, reason: 'not_keyward_key' }) : 'not a keyward key\n')
    return EXIT_INVALID
  }
  if (!info.valid) {
    io.stdout.write(asJson ? json({ valid: false, reason: 'checksum_mismatch' }) : 'checksum mismatch\n')
    return EXIT_INVALID
  }
  const env = info.environment
  io.stdout.write(
    asJson
      ? json({ valid: true, prefix: info.prefix, ...(env === undefined ? {} : { environment: env }) })
      : `valid keyward key (prefix ${info.prefix}, ${env === undefined ? 'no environment' : `environment ${env}`})\n`,
  )
  return EXIT_OK
}
