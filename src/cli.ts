#!/usr/bin/env node
/**
 * The `keyward` command: generate a key, hash a key, check a key's format, scan files for keys.
 *
 * Rules this file keeps, because it handles secrets on a terminal:
 * - Only `generate` ever prints a key (the one it has just created). `hash` and `check` never
 *   echo their input, not even in error messages; option names are only echoed when they cannot
 *   be a pasted key (see {@link displayOption}).
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
import { readFile } from 'node:fs/promises'
import { readFileSync, realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { findKeys, redactKeys } from './_scan.js'
import { INVALID_OPTION } from './errors.js'
import { generateKey, parseKey } from './keys/format.js'
import { hashKey } from './keys/hash.js'
import { MAX_KEY_LENGTH } from './schemes/scheme.js'

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

const HELP = `keyward: generate, hash and check keyward API keys

Usage:
  keyward generate [--prefix <prefix>] [--env <environment>] [--json]
  keyward hash [--json]                  reads the key from stdin
  keyward check - [--json]               reads the key from stdin (preferred)
  keyward check <key> [--json]
  keyward scan <file>...                 find keys in files (exit 1 if any)
  keyward <command> --help               help for one command
  keyward --help | --version

Commands:
  generate  Create a new key from the system CSPRNG and print it with its hash. The key
            is shown this once and stored nowhere: store the hash, hand the key over.
  hash      Read one key (one line) from stdin and print the hash to store or look up.
  check     Say whether a key has keyward's format and a valid checksum (no lookup).
            Prefer "check -" with the key on stdin: a key given as an argument is kept
            in your shell history and is visible to other users in process listings.
  scan      Find keyward keys (prefix and valid checksum) in files, for pre-commit hooks
            and CI. Prints file:line:column with the key redacted; never prints a key.

Options:
  --prefix <prefix>   1-16 lower-case letters or digits, starting with a letter (default kw)
  --env <environment> environment segment, e.g. live or test, 1-16 lower-case letters
                      or digits (default: none)
  --json              print one JSON object instead of text
  -h, --help          print this help
  -v, -V, --version   print the version

There is no --pepper option: the pepper is read from KEYWARD_PEPPER only, so it never
lands in shell history or in process listings.

Environment:
  KEYWARD_PEPPER      HMAC key for hashes (at least 32 bytes), used exactly as given; it
                      must equal the pepper your server passes to keyward. Unset: SHA-256.

Exit status:
  0  success (check: the key is valid; scan: no key found)
  1  check: the key is not valid; scan: a key was found; any command: I/O failure
  2  usage error: unknown command or option, bad pepper, empty or malformed key, a file
     scan cannot read

Examples:
  keyward generate --prefix acme --env live
  printf '%s\\n' "$KEY" | keyward hash
  keyward check - < key.txt
`

const PEPPER_HELP = `Environment:
  KEYWARD_PEPPER      HMAC key for hashes (at least 32 bytes), used exactly as given; it
                      must equal the pepper your server passes to keyward. Unset: SHA-256.
                      There is no --pepper option: an argument lands in shell history.
`

/** Help of one command: what `keyward <command> --help` prints. */
const COMMAND_HELP: Readonly<Record<string, string>> = {
  generate: `keyward generate: create a new key and print it with its hash

Usage:
  keyward generate [--prefix <prefix>] [--env <environment>] [--json]

The key comes from the system CSPRNG and is shown this once; it is stored nowhere.
Store the hash, hand the key over.

Options:
  --prefix <prefix>   1-16 lower-case letters or digits, starting with a letter (default kw)
  --env <environment> environment segment, e.g. live or test, 1-16 lower-case letters
                      or digits (default: none)
  --json              print { key, hash, algorithm, prefix, environment? } as JSON

${PEPPER_HELP}
Example:
  keyward generate --prefix acme --env live
`,
  hash: `keyward hash: print the hash of a key read from stdin

Usage:
  keyward hash [--json]

Reads one key (one line) from stdin, with echo off on a terminal, and prints the hash to
store or look up. The key is never taken as an argument: arguments land in shell history.

Options:
  --json              print { hash, algorithm } as JSON

${PEPPER_HELP}
Example:
  printf '%s\\n' "$KEY" | keyward hash
`,
  check: `keyward check: say whether a key has keyward's format and a valid checksum

Usage:
  keyward check - [--json]               reads the key from stdin (preferred)
  keyward check <key> [--json]

No store is consulted. Prefer "check -": a key given as an argument is kept in your shell
history and is visible to other users in process listings.

Options:
  --json              print { valid, reason? , prefix?, environment? } as JSON

Exit status: 0 the key is valid, 1 it is not, 2 usage error.

Example:
  keyward check - < key.txt
`,
  scan: `keyward scan: find keyward keys in files

Usage:
  keyward scan <file>...

Looks for keys in keyward's format with a valid checksum (no store is consulted, no pepper
is needed) and prints one line per key found: file:line:column and the key's prefix and
environment, the secret part redacted. A key is never printed.

Exit status: 0 no key found, 1 a key was found, 2 usage error or a file that cannot be read
(so a hook never passes a file it did not scan).

Example (a git pre-commit hook):
  git diff --cached --name-only --diff-filter=ACM -z | xargs -0 -r keyward scan
`,
}

/** Why there is no `--pepper`: said whenever one is given, never repeating its value. */
const NO_PEPPER_OPTION = 'there is no --pepper option: set the KEYWARD_PEPPER environment variable instead, so the pepper never lands in shell history or process listings'

/** A usage error: its message goes to stderr, the exit status is 2. Never holds a key. */
class UsageError extends Error {}

interface OptionSpec {
  readonly type: 'string' | 'boolean'
  readonly short?: string
}

const COMMON: Readonly<Record<string, OptionSpec>> = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
}

const COMMANDS: Readonly<Record<string, Readonly<Record<string, OptionSpec>>>> = {
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

interface Parsed {
  readonly values: Readonly<Record<string, string | boolean>>
  readonly positionals: readonly string[]
}

/**
 * Parses a command's arguments. `parseArgs` runs non-strict and every token is checked here,
 * because its strict-mode messages quote the offending argument, which may be a key.
 */
function parseCommand(args: readonly string[], spec: Readonly<Record<string, OptionSpec>>): Parsed {
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

/** Validates `KEYWARD_PEPPER` with the library's own rule, without ever printing it. */
function readPepper(env: CliIo['env']): string | undefined {
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

function isInvalidOption(e: unknown): e is Error {
  return e instanceof Error && (e as { code?: unknown }).code === INVALID_OPTION
}

function algorithmOf(pepper: string | undefined): 'hmac-sha256' | 'sha256' {
  return pepper === undefined ? 'sha256' : 'hmac-sha256'
}

function json(value: unknown): string {
  return `${JSON.stringify(value)}\n`
}

/** Bytes read from stdin before giving up: the longest key plus CR LF. */
const MAX_LINE_BYTES = MAX_KEY_LENGTH + 2

/** Control bytes understood while reading a key from a terminal with echo off (raw mode). */
const CR = 0x0d
const LF = 0x0a
const CTRL_C = 0x03
const CTRL_D = 0x04
const CTRL_U = 0x15
const BACKSPACE = 0x08
const DELETE = 0x7f

type LineResult = { readonly kind: 'line'; readonly bytes: Uint8Array } | { readonly kind: 'cancelled' }

function toBytes(chunk: Uint8Array | string): Uint8Array {
  return typeof chunk === 'string' ? new TextEncoder().encode(chunk) : chunk
}

/**
 * Reads the first line of a pipe or file: up to the first LF, at most {@link MAX_LINE_BYTES}.
 * Returning from the loop stops the stream, so nothing after the first line is read.
 */
async function readPipedLine(stdin: CliIo['stdin']): Promise<LineResult> {
  const parts: Uint8Array[] = []
  let total = 0
  for await (const chunk of stdin) {
    const bytes = toBytes(chunk)
    const lf = bytes.indexOf(LF)
    const take = lf === -1 ? bytes : bytes.subarray(0, lf + 1)
    parts.push(take)
    total += take.length
    if (total > MAX_LINE_BYTES) throw new UsageError(`the key on stdin is longer than ${MAX_KEY_LENGTH} characters`)
    if (lf !== -1) break
  }
  const line = concat(parts, total)
  // Only the line ending is removed: LF or CR LF. Other whitespace is kept and then refused,
  // so a key is never silently altered into a different one.
  let end = line.length
  if (end > 0 && line[end - 1] === LF) {
    end--
    if (end > 0 && line[end - 1] === CR) end--
  }
  if (end > MAX_KEY_LENGTH) throw new UsageError(`the key on stdin is longer than ${MAX_KEY_LENGTH} characters`)
  return { kind: 'line', bytes: line.subarray(0, end) }
}

/**
 * Reads a key typed or pasted on a terminal with echo off. In raw mode the terminal no longer
 * edits the line, so the few editing keys a user may press are handled here; anything else
 * (arrows, escapes) is kept and then refused as not visible ASCII.
 */
async function readTerminalLine(stdin: CliIo['stdin'], stderr: CliIo['stderr']): Promise<LineResult> {
  const key: number[] = []
  // Echo goes off before the prompt appears, so nothing typed after the prompt is echoed.
  stdin.setRawMode?.(true)
  stderr.write('Key (input hidden): ')
  try {
    for await (const chunk of stdin) {
      for (const b of toBytes(chunk)) {
        if (b === CR || b === LF || b === CTRL_D) return { kind: 'line', bytes: Uint8Array.from(key) }
        if (b === CTRL_C) return { kind: 'cancelled' }
        if (b === BACKSPACE || b === DELETE) key.pop()
        else if (b === CTRL_U) key.length = 0
        else if (key.length >= MAX_KEY_LENGTH) throw new UsageError(`the key is longer than ${MAX_KEY_LENGTH} characters`)
        else key.push(b)
      }
    }
    return { kind: 'line', bytes: Uint8Array.from(key) }
  } finally {
    stdin.setRawMode?.(false)
    stderr.write('\n')
    key.fill(0)
  }
}

function concat(parts: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total)
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

/**
 * Reads one key from stdin. Refuses what no keyward authorizer would ever accept in a header
 * (empty, longer than 512, or holding anything but visible ASCII), so a hash is never made of a
 * key that cannot be presented.
 */
async function readKey(io: CliIo): Promise<string | undefined> {
  const result = io.stdin.isTTY === true ? await readTerminalLine(io.stdin, io.stderr) : await readPipedLine(io.stdin)
  if (result.kind === 'cancelled') return undefined
  const { bytes } = result
  if (bytes.length === 0) throw new UsageError('no key on stdin (empty input or empty line)')
  let key = ''
  for (const b of bytes) {
    if (b < 0x21 || b > 0x7e) {
      throw new UsageError('the key holds a space, tab, control or non-ASCII character; keys are visible ASCII only')
    }
    key += String.fromCharCode(b)
  }
  return key
}

function generate(parsed: Parsed, io: CliIo): number {
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

async function hash(parsed: Parsed, io: CliIo): Promise<number> {
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

async function check(parsed: Parsed, io: CliIo): Promise<number> {
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

/**
 * `scan`: every file is read before anything is decided, so an unreadable file is a usage
 * error (2) even when another file holds a key. File names are printed with any key in them
 * redacted (a key pasted as an argument is not repeated), and I/O errors by their code only.
 */
async function scan(parsed: Parsed, io: CliIo): Promise<number> {
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

function cancelled(io: CliIo): number {
  io.stderr.write('keyward: cancelled\n')
  return EXIT_INVALID
}

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
