/**
 * The options each command takes, parsed without ever quoting an argument that may be a key.
 * @module
 */
import { parseArgs } from 'node:util'
import { UsageError } from './io.js'

/** Why there is no `--pepper`: said whenever one is given, never repeating its value. */
export const NO_PEPPER_OPTION = 'there is no --pepper option: set the KEYWARD_PEPPER environment variable instead, so the pepper never lands in shell history or process listings'

/** How one option is read. */
export interface OptionSpec {
  readonly type: 'string' | 'boolean'
  readonly short?: string
}

const COMMON: Readonly<Record<string, OptionSpec>> = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
}

/** The options of each command, by command name. */
export const COMMANDS: Readonly<Record<string, Readonly<Record<string, OptionSpec>>>> = {
  generate: { ...COMMON, prefix: { type: 'string' }, env: { type: 'string' } },
  hash: COMMON,
  check: COMMON,
  scan: { help: COMMON.help! },
}

/**
 * How an unknown option is named in an error message. A mistyped flag (`--jsn`) is shown so the
 * user can see the typo; anything else (a key pasted after the command, which may start with a
 * dash if it is a legacy key) is not: keyward keys always hold `_` and digits, which this
 * pattern excludes.
 */
function displayOption(raw: string): string {
  return /^--?[a-z][a-z-]{0,23}$/.test(raw) ? ` ${raw}` : ' (not shown: it may be a key)'
}

/** A command's options and positional arguments. */
export interface Parsed {
  readonly values: Readonly<Record<string, string | boolean>>
  readonly positionals: readonly string[]
}

/**
 * Parses a command's arguments. `parseArgs` runs non-strict and every token is checked here,
 * because its strict-mode messages quote the offending argument, which may be a key.
 */
export function parseCommand(args: readonly string[], spec: Readonly<Record<string, OptionSpec>>): Parsed {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {}
  for (const [name, o] of Object.entries(spec)) options[name] = o.short === undefined ? { type: o.type } : { type: o.type, short: o.short }
  const { tokens } = parseArgs({ args: [...args], options, allowPositionals: true, strict: false, tokens: true })
  const values: Record<string, string | boolean> = {}
  const positionals: string[] = []
  for (const token of tokens) {
    if (token.kind === 'positional') {
      positionals.push(token.value)
      continue
    }
    if (token.kind !== 'option') continue // the `--` terminator
    // Own properties only: `--constructor` or `--__proto__` must not find Object.prototype's.
    const o = Object.hasOwn(spec, token.name) ? spec[token.name] : undefined
    if (o === undefined && token.name === 'pepper') throw new UsageError(NO_PEPPER_OPTION)
    if (o === undefined) throw new UsageError(`unknown option${displayOption(token.rawName)}`)
    if (Object.hasOwn(values, token.name)) throw new UsageError(`--${token.name} is given more than once`)
    if (o.type === 'boolean') {
      if (token.value !== undefined) throw new UsageError(`--${token.name} takes no value`)
      values[token.name] = true
    } else {
      // Without `=`, parseArgs takes the next argument even when it is another option:
      // `--prefix --json` would make "--json" the prefix.
      if (token.value === undefined || (!token.inlineValue && token.value.startsWith('-'))) {
        throw new UsageError(`--${token.name} needs a value`)
      }
      values[token.name] = token.value
    }
  }
  return { values, positionals }
}

