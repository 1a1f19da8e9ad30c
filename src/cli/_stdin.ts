/**
 * Reading one key from stdin: one line at most from a pipe, or typed with echo off on a terminal.
 * @module
 */
import { MAX_KEY_LENGTH } from '../schemes/scheme.js'
import { type CliIo, UsageError } from './io.js'

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
export async function readKey(io: CliIo): Promise<string | undefined> {
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
