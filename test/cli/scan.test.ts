/**
 * `keyward scan <file>...`: finds keys by prefix and checksum in files, prints file:line:column
 * with the key redacted, exits 1 if any, 0 if none, 2 on usage errors and unreadable files; no
 * output ever holds a key or its secret part, whether the key is in a file or in a file name.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { main } from '../../src/cli.js'
import { findKeys } from '../../src/cli/_find-keys.js'
import { generateKey } from '../../src/index.js'
import { fakeIo } from './_io.js'

const dir = mkdtempSync(join(tmpdir(), 'keyward-scan-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const secretOf = (k: string): string => k.slice(k.lastIndexOf('_') + 1)

function file(name: string, content: string | Buffer): string {
  const path = join(dir, name)
  writeFileSync(path, content)
  return path
}

async function run(argv: string[]) {
  const f = fakeIo()
  const status = await main(argv, f.io)
  return { status, out: f.out(), err: f.err() }
}

function expectNoKey(keys: readonly string[], ...outputs: string[]): void {
  for (const k of keys) for (const o of outputs) {
    expect(o).not.toContain(k)
    expect(o).not.toContain(secretOf(k))
  }
}

describe('keyward scan', () => {
  it('finds keys with their line and column, redacted, and exits 1', async () => {
    const live = generateKey({ prefix: 'acme', environment: 'live' })
    const plain = generateKey()
    const path = file('config.js', `// config\nconst a = "${live}"\n\nexport const b = '${plain}'; // twice: ${plain}\n`)
    const r = await run(['scan', path])
    expect(r.status).toBe(1)
    expect(r.out).toBe(
      `${path}:2:12: keyward key acme_live_… (redacted)\n` +
        `${path}:4:19: keyward key kw_… (redacted)\n` +
        `${path}:4:${19 + plain.length + 13}: keyward key kw_… (redacted)\n`,
    )
    expect(r.err).toMatch(/3 keys found/)
    expectNoKey([live, plain], r.out, r.err)
  })

  it('exits 0 and prints nothing for files without keys, including a key with a broken checksum', async () => {
    const k = generateKey()
    const broken = `${k.slice(0, -1)}${k.endsWith('0') ? '1' : '0'}`
    const r = await run(['scan', file('clean.txt', `nothing here\n${broken}\nkw_short_abc\n`), file('empty.txt', '')])
    expect(r).toEqual({ status: 0, out: '', err: '' })
  })

  it('finds a key glued to other text, in a binary file, and after CRLF line ends', async () => {
    const k = generateKey({ prefix: 'acme' })
    const bin = Buffer.concat([Buffer.from([0, 255, 1, 0x0a]), Buffer.from(`xx${k}yy`), Buffer.from([0xfe])])
    const r = await run(['scan', file('blob.bin', bin), file('crlf.txt', `a\r\nb\r\nKEY=${k}\r\n`), file('glued.txt', `foo_${k}`)])
    expect(r.status).toBe(1)
    expect(r.out.split('\n').filter(Boolean).map((l) => l.replace(dir, '<dir>'))).toEqual([
      '<dir>/blob.bin:2:3: keyward key acme_… (redacted)',
      '<dir>/crlf.txt:3:5: keyward key acme_… (redacted)',
      '<dir>/glued.txt:1:5: keyward key acme_… (redacted)',
    ])
    expectNoKey([k], r.out, r.err)
  })

  it('exits 2 for an unreadable file even when another file holds a key, naming it without any key in its name', async () => {
    const k = generateKey()
    const withKey = file('has-key.txt', k)
    const missingNamedLikeKey = join(dir, `${k}.env`)
    mkdirSync(join(dir, 'a-directory'))
    const r = await run(['scan', withKey, missingNamedLikeKey, join(dir, 'a-directory')])
    expect(r.status).toBe(2)
    expect(r.err).toContain(`cannot read ${JSON.stringify(join(dir, 'kw_….env'))} (ENOENT)`)
    expect(r.err).toContain('(EISDIR)')
    expect(r.out).toContain('has-key.txt:1:1')
    expectNoKey([k], r.out, r.err)
  })

  it('redacts a key in the name of a file that exists and holds one', async () => {
    const named = generateKey()
    const inside = generateKey()
    const r = await run(['scan', file(`leak-${named}.txt`, inside)])
    expect(r.status).toBe(1)
    expect(r.out).toBe(`${join(dir, 'leak-kw_….txt')}:1:1: keyward key kw_… (redacted)\n`)
    expectNoKey([named, inside], r.out, r.err)
  })

  it.each([[['scan']], [['scan', '--json', 'x']], [['scan', '--prefix', 'kw', 'x']]])('is a usage error (2): keyward %j', async (argv) => {
    const r = await run(argv)
    expect(r.status).toBe(2)
    expect(r.out).toBe('')
  })

  it('prints its help with --help', async () => {
    const r = await run(['scan', '--help'])
    expect(r.status).toBe(0)
    expect(r.out).toMatch(/^keyward scan: find keyward keys in files/)
  })

  it('finds every generated key planted in random text, at the right place (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.string({ unit: fc.constantFrom('a', ' ', '\n', '_', 'Z', '9', '"', '=') }), fc.constantFrom('kw', 'acme', 'z9'), fc.option(fc.constantFrom('live', 'test'), { nil: undefined })), { maxLength: 6 }),
        fc.string({ unit: fc.constantFrom('a', ' ', '\n', '_') }),
        (parts, end) => {
          let text = ''
          const planted: { start: number; head: string }[] = []
          for (const [filler, prefix, environment] of parts) {
            text += `${filler} `
            const k = generateKey({ prefix, ...(environment === undefined ? {} : { environment }) })
            planted.push({ start: text.length, head: environment === undefined ? prefix : `${prefix}_${environment}` })
            text += k
          }
          text += ` ${end}`
          expect(findKeys(text).map((f) => ({ start: f.start, head: f.head }))).toEqual(planted)
        },
      ),
      { numRuns: 200 },
    )
  })
})
