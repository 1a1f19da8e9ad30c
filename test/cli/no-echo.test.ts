/**
 * The CLI never repeats a value that could be a secret: a valid key given as the value of every
 * option, in place of every command and argument, on stdin, and as the pepper, never appears on
 * stdout or stderr, whatever the command answers.
 */
import { describe, expect, it } from 'vitest'
import { main } from '../../src/cli.js'
import { generateKey } from '../../src/index.js'
import { fakeIo } from './_io.js'

const KEY = generateKey({ prefix: 'acme', environment: 'live' })
const PEPPER = generateKey({ prefix: 'pepper' })
/** The random part of a key: no output may hold it, even without its prefix. */
const secretOf = (k: string): string => k.slice(k.lastIndexOf('_') + 1)

const OPTIONS = ['--prefix', '--env', '--json', '--help', '-h', '--version', '-V', '-v', '--pepper', '--jsn']
const COMMANDS = ['generate', 'hash', 'check', 'scan']

/** Every way a key can land in an argument list by mistake. */
function argvs(): string[][] {
  const out: string[][] = [[KEY], [`-${KEY}`], [`--${KEY}`], ['--pepper', KEY], [`--pepper=${KEY}`], ['--version', KEY], ['-v', KEY], ['--help', KEY]]
  for (const c of COMMANDS) {
    out.push([c, KEY], [c, KEY, KEY], [c, '-', KEY], [c, `--${KEY}`], [c, `-${KEY}`], [c, '--', KEY])
    for (const o of OPTIONS) out.push([c, o, KEY], [c, `${o}=${KEY}`], [c, KEY, o], [c, o, '--json', KEY])
  }
  return out
}

describe('keyward never echoes a key given by mistake', () => {
  const cases = argvs().flatMap((argv) => [
    { argv, env: {} as Record<string, string> },
    { argv, env: { KEYWARD_PEPPER: PEPPER } },
  ])

  it.each(cases)('keyward $argv (pepper set: $env.KEYWARD_PEPPER) prints neither the key nor the pepper', async ({ argv, env }) => {
    const f = fakeIo({ chunks: [`${KEY}\n`] }, env)
    const status = await main(argv, f.io)
    expect([0, 1, 2]).toContain(status)
    for (const secret of [KEY, secretOf(KEY), PEPPER, secretOf(PEPPER)]) {
      expect(f.out()).not.toContain(secret)
      expect(f.err()).not.toContain(secret)
    }
  })

  it('refuses a key given as --prefix or --env, naming the option and not the value', async () => {
    for (const [option, field] of [['--prefix', '--prefix'], ['--env', '--env'], ['--prefix=', '--prefix'], ['--env=', '--env']] as const) {
      const f = fakeIo()
      const argv = option.endsWith('=') ? ['generate', `${option}${KEY}`] : ['generate', option, KEY]
      expect(await main(argv, f.io)).toBe(2)
      expect(f.err()).toMatch(new RegExp(`^keyward: ${field}: must be 1-16 lower-case letters or digits`))
      expect(f.out()).toBe('')
    }
  })
})
