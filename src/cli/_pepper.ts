/**
 * `KEYWARD_PEPPER`: read from the environment only, validated by the library's own rule, never
 * printed.
 * @module
 */
import { INVALID_OPTION } from '../errors.js'
import { hashKey } from '../keys/hash.js'
import { type CliIo, UsageError } from './io.js'

/** Validates `KEYWARD_PEPPER` with the library's own rule, without ever printing it. */
export function readPepper(env: CliIo['env']): string | undefined {
  const pepper = env.KEYWARD_PEPPER
  if (pepper === undefined) return undefined
  if (pepper === '') {
    // An empty variable is a configuration mistake, not "no pepper": the server would refuse
    // the same value, so hashes made without it would never match.
    throw new UsageError('KEYWARD_PEPPER is set but empty; set it to your server\'s pepper (at least 32 bytes) or unset it')
  }
  try {
    hashKey('keyward', pepper)
  } catch (e) {
    if (isInvalidOption(e)) {
      throw new UsageError('KEYWARD_PEPPER is too short: a pepper must be at least 32 bytes (UTF-8); its value is not shown')
    }
    throw e
  }
  return pepper
}

/** Whether `e` is the library's invalid-option error. */
export function isInvalidOption(e: unknown): e is Error {
  return e instanceof Error && (e as { code?: unknown }).code === INVALID_OPTION
}

/** The hash algorithm a pepper (or its absence) selects. */
export function algorithmOf(pepper: string | undefined): 'hmac-sha256' | 'sha256' {
  return pepper === undefined ? 'sha256' : 'hmac-sha256'
}
