import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { main } from '../../src/cli.js'
import { generateKey } from '../../src/index.js'
import { fakeIo } from './_io.js'

const KEY_PATTERN = /[a-z][a-z0-9]*_(?:[a-z0-9]+_)?[0-9A-Za-z]{38}/

describe('keyward help, version and usage errors', () => {
  it('prints help on stdout with --help, -h and help, naming every command and the pepper', async () => {
    for (const argv of [['--help'], ['-h'], ['help']]) {
      const f = fakeIo()
      expect(await main(argv, f.io)).toBe(0)
      for (const word of ['keyward generate', 'keyward hash', 'keyward check -', 'KEYWARD_PEPPER', 'Exit status']) {
        expect(f.out()).toContain(word)
      }
      expect(f.err()).toBe('')
    }
  })

  it('prints help for "<command> --help" without running the command', async () => {
    for (const command of ['generate', 'hash', 'check']) {
      const f = fakeIo({ after: 'explode' })
      expect(await main([command, '--help'], f.io)).toBe(0)
      expect(f.out()).toContain('Usage:')
      expect(f.out()).not.toMatch(KEY_PATTERN)
      expect(f.reads()).toBe(0)
    }
  })

  it('prints only that command\'s help for "<command> --help" and "<command> -h"', async () => {
    const others = { generate: ['keyward hash', 'keyward check'], hash: ['keyward generate', '--prefix'], check: ['keyward generate', 'keyward hash'] }
    const own = { generate: ['keyward generate [--prefix', '--env <environment>', 'KEYWARD_PEPPER'], hash: ['keyward hash [--json]', 'stdin', 'KEYWARD_PEPPER'], check: ['keyward check -', 'Prefer "check -"', 'Exit status'] }
    for (const command of ['generate', 'hash', 'check'] as const) {
      for (const flag of ['--help', '-h']) {
        const f = fakeIo()
        expect(await main([command, flag], f.io)).toBe(0)
        for (const word of own[command]) expect(f.out()).toContain(word)
        for (const word of others[command]) expect(f.out()).not.toContain(word)
        expect(f.err()).toBe('')
      }
    }
  })

  it('explains that there is no --pepper option and where the pepper comes from, without repeating it', async () => {
    const secret = 'p'.repeat(40)
    for (const argv of [['--pepper', secret], [`--pepper=${secret}`], ['generate', '--pepper', secret], ['hash', `--pepper=${secret}`], ['check', '-', '--pepper', secret]]) {
      const f = fakeIo({ after: 'explode' })
      expect(await main(argv, f.io)).toBe(2)
      expect(f.err()).toBe('keyward: there is no --pepper option: set the KEYWARD_PEPPER environment variable instead, so the pepper never lands in shell history or process listings\n')
      expect(f.out()).toBe('')
      expect(f.reads()).toBe(0)
    }
    const help = fakeIo()
    await main(['--help'], help.io)
    expect(help.out()).toMatch(/There is no --pepper option/)
  })

  it('recommends stdin for check in the help, because arguments are visible', async () => {
    const f = fakeIo()
    await main(['--help'], f.io)
    expect(f.out()).toMatch(/Prefer "check -"/)
    expect(f.out()).toMatch(/shell history/)
    expect(f.out()).toMatch(/process listings/)
  })

  it('prints help on stderr with status 2 when no command is given', async () => {
    const f = fakeIo()
    expect(await main([], f.io)).toBe(2)
    expect(f.out()).toBe('')
    expect(f.err()).toContain('Usage:')
  })

  it('prints the package version with --version, -V and -v', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
    for (const flag of ['--version', '-V', '-v']) {
      const f = fakeIo()
      expect(await main([flag], f.io)).toBe(0)
      expect(f.out()).toBe(`${version}\n`)
    }
  })

  it('names an unknown command that looks like a word', async () => {
    const f = fakeIo()
    expect(await main(['genrate'], f.io)).toBe(2)
    expect(f.err()).toBe('keyward: unknown command "genrate"; run "keyward --help"\n')
    expect(f.out()).toBe('')
  })

  it('does not echo a key given in place of the command', async () => {
    const key = generateKey({ environment: 'live' })
    for (const argv of [[key], [`-${key}`], ['constructor'], ['__proto__']]) {
      const f = fakeIo()
      expect(await main(argv, f.io)).toBe(2)
      expect(f.err()).toMatch(/^keyward: unknown command/)
      expect(f.err()).not.toContain(key)
    }
  })

  it('names a mistyped option so the typo can be seen', async () => {
    const f = fakeIo()
    expect(await main(['check', '--jsn', 'x'], f.io)).toBe(2)
    expect(f.err()).toBe('keyward: unknown option --jsn\n')
  })

  it('treats Object.prototype names as unknown options, not as options', async () => {
    for (const flag of ['--constructor', '--__proto__', '--toString', '--hasOwnProperty=1']) {
      const f = fakeIo()
      expect(await main(['check', flag, 'x'], f.io)).toBe(2)
      expect(f.err()).toMatch(/^keyward: unknown option/)
    }
  })

  it('writes usage errors to stderr only, one line prefixed with "keyward:"', async () => {
    const f = fakeIo()
    expect(await main(['hash', '--prefix', 'acme'], f.io)).toBe(2)
    expect(f.out()).toBe('')
    expect(f.err()).toMatch(/^keyward: [^\n]+\n$/)
  })
})
