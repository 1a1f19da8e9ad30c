/**
 * `keyward generate`: a new key from the system CSPRNG, printed once with its hash.
 * @module
 */
import { generateKey, parseKey } from '../keys/format.js'
import { hashKey } from '../keys/hash.js'
import { algorithmOf, isInvalidOption, readPepper } from './_pepper.js'
import type { Parsed } from './args.js'
import { type CliIo, EXIT_OK, json, UsageError } from './io.js'

/** Runs `keyward generate`. */
export function generate(parsed: Parsed, io: CliIo): number {
  if (parsed.positionals.length > 0) throw new UsageError('generate takes no arguments, only options')
  const pepper = readPepper(io.env)
  const prefix = parsed.values.prefix
  const environment = parsed.values.env
  let key: string
  try {
    key = generateKey({
      ...(typeof prefix === 'string' ? { prefix } : {}),
      ...(typeof environment === 'string' ? { environment } : {}),
    })
  } catch (e) {
    // generateKey names the field; the CLI user knows it by its option name. The library's
    // message never quotes the value: a key pasted as --prefix or --env is not repeated.
    if (isInvalidOption(e)) throw new UsageError(e.message.replace(/^prefix:/, '--prefix:').replace(/^environment:/, '--env:'))
    throw e
  }
  const hash = hashKey(key, pepper)
  const info = parseKey(key)
  const algorithm = algorithmOf(pepper)
  if (parsed.values.json === true) {
    io.stdout.write(json({
      key,
      hash,
      algorithm,
      prefix: info?.prefix,
      ...(info?.environment === undefined ? {} : { environment: info.environment }),
    }))
  } else {
    io.stdout.write(`key:  ${key}\nhash: ${hash}\n`)
    io.stderr.write(
      `${pepper === undefined ? 'Hash: SHA-256 (KEYWARD_PEPPER is not set).' : 'Hash: HMAC-SHA-256 keyed with KEYWARD_PEPPER.'}\n` +
        'Store the hash. Give the key to its owner now: it is not stored and cannot be shown again.\n',
    )
  }
  return EXIT_OK
}
