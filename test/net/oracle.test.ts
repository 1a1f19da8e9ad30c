/**
 * Differential tests against Python's standard `ipaddress` module (test/net/ipaddress_oracle.py).
 * The oracle computes every expected answer itself; it is spawned once, with every case in one
 * JSON batch. Cases come from fast-check with a fixed seed (override with KEYWARD_FC_SEED), and
 * KEYWARD_ORACLE_SCALE multiplies their number.
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { allowlistHas, compileAllowlist } from '../../src/net/_allowlist.js'
import { formatIp, parseIp } from '../../src/net/_ip.js'
import type { V6Style } from './_arb.js'
import { SEED, addressText, dotted, fromBig, maskOf, mutate, toBig, u32, v4Texts, v6Style, v6Text, v6Words } from './_arb.js'

const ORACLE = fileURLToPath(new URL('./ipaddress_oracle.py', import.meta.url))
// KEYWARD_ORACLE_SCALE=20 runs twenty times as many cases (for a long soak, not for CI).
const SCALE = Math.max(1, Number(process.env.KEYWARD_ORACLE_SCALE ?? 1) || 1)
const N_PARSE = 3000 * SCALE
const N_CIDR = 3000 * SCALE
const N_MEMBER = 4000 * SCALE

type Net = { fam: 4; net: number; p: number } | { fam: 6; net: number[]; p: number }

const prefix4 = fc.oneof(fc.constantFrom(0, 1, 8, 16, 24, 30, 31, 32, 32), fc.integer({ min: 0, max: 32 }))
const prefix6 = fc.oneof(fc.constantFrom(0, 1, 32, 48, 64, 80, 81, 95, 96, 97, 104, 120, 126, 127, 128, 128), fc.integer({ min: 0, max: 128 }))

const net4: fc.Arbitrary<Net> = fc.tuple(u32, prefix4).map(([b, p]) => ({ fam: 4, net: (b & maskOf(p)) >>> 0, p }))
const net6: fc.Arbitrary<Net> = fc
  .tuple(v6Words, prefix6)
  .map(([w, p]) => ({ fam: 6, net: w.map((x, k) => (x & maskOf(p - 32 * k)) >>> 0), p }))

/** The entry text of a network, in one of the forms an operator may write. */
function entryText(n: Net, form: number, style: V6Style, upper: boolean): string {
  if (n.fam === 4) {
    const hi = (n.net >>> 16).toString(16)
    const lo = (n.net & 0xffff).toString(16)
    switch (form % 4) {
      case 0:
        return `${dotted(n.net)}/${n.p}`
      case 1:
        return n.p === 32 ? dotted(n.net) : `${dotted(n.net)}/${n.p}`
      case 2:
        return `::ffff:${dotted(n.net)}/${n.p + 96}`
      default:
        return `::${upper ? 'FFFF' : 'ffff'}:${hi}:${lo}/${n.p + 96}`
    }
  }
  const text = v6Text(n.net, style, form, upper)
  return n.p === 128 && form % 2 === 0 ? text : `${text}/${n.p}`
}

const entryArb = fc
  .tuple(fc.oneof(net4, net6), fc.nat(), v6Style, fc.boolean())
  .map(([n, form, style, upper]) => ({ net: n, text: entryText(n, form, style, upper) }))

type Mode = 'network' | 'broadcast' | 'below' | 'above' | 'inside' | 'random4' | 'random6'
const modeArb = fc.constantFrom<Mode>('network', 'broadcast', 'below', 'above', 'inside', 'inside', 'random4', 'random6')

/** An address near one of the list's networks (its edges, just outside, inside) or anywhere. */
function addressFor(n: Net, mode: Mode, r4: number, r6: number[], form: number, style: V6Style, upper: boolean): string {
  const v4text = (v: number): string => v4Texts(v >>> 0)[form % 7]!
  const v6text = (w: number[]): string => v6Text(w, style, form, upper)
  if (mode === 'random4') return v4text(r4)
  if (mode === 'random6') return v6text(r6)
  if (n.fam === 4) {
    const host = ~maskOf(n.p) >>> 0
    const bcast = (n.net | host) >>> 0
    const v = { network: n.net, broadcast: bcast, below: n.net - 1, above: bcast + 1, inside: n.net | (r4 & host) }[mode]
    return v4text(v >>> 0)
  }
  const size = 1n << BigInt(128 - n.p)
  const net = toBig(n.net)
  const rnd = toBig(r6) % size
  const b = { network: net, broadcast: net + size - 1n, below: net - 1n, above: net + size, inside: net + rnd }[mode]
  return v6text(fromBig(b))
}

const memberArb = fc
  .tuple(fc.array(entryArb, { minLength: 1, maxLength: 5 }), fc.nat(), modeArb, u32, v6Words, fc.nat(), v6Style, fc.boolean())
  .map(([entries, pick, mode, r4, r6, form, style, upper]) => ({
    entries: entries.map((e) => e.text),
    addr: addressFor(entries[pick % entries.length]!.net, mode, r4, r6, form, style, upper),
  }))

const cidrArb = fc.oneof(
  entryArb.map((e) => e.text),
  // Host bits possibly set, prefixes possibly out of range, leading zeros in the prefix.
  fc.tuple(addressText, fc.integer({ min: 0, max: 140 }), fc.boolean()).map(([a, p, z]) => `${a}/${z ? '0' : ''}${p}`),
  mutate(entryArb.map((e) => e.text)),
  addressText,
)

interface OracleAnswer {
  parse: (string | null)[]
  cidr: (string | null)[]
  member: boolean[]
}

const parseCases = fc.sample(addressText, { seed: SEED, numRuns: N_PARSE })
const cidrCases = fc.sample(cidrArb, { seed: SEED + 1, numRuns: N_CIDR })
const memberCases = fc.sample(memberArb, { seed: SEED + 2, numRuns: N_MEMBER })
let oracle: OracleAnswer

beforeAll(() => {
  const input = JSON.stringify({ parse: parseCases, cidr: cidrCases, member: memberCases.map((c) => [c.entries, c.addr]) })
  const run = spawnSync('python3', [ORACLE], { input, encoding: 'utf8', maxBuffer: 64 << 20 })
  if (run.error) throw run.error
  if (run.status !== 0) throw new Error(`ipaddress_oracle.py failed (${run.status}): ${run.stderr}`)
  oracle = JSON.parse(run.stdout) as OracleAnswer
  expect(oracle.parse).toHaveLength(N_PARSE)
  expect(oracle.cidr).toHaveLength(N_CIDR)
  expect(oracle.member).toHaveLength(N_MEMBER)
})

const why = `(fast-check seed ${SEED}; rerun with KEYWARD_FC_SEED=${SEED})`

describe('differential against Python ipaddress', () => {
  it(`parseIp + formatIp agree with ipaddress on ${N_PARSE} valid, mutated and random strings`, () => {
    const diffs: unknown[] = []
    parseCases.forEach((text, i) => {
      const a = parseIp(text)
      const ours = a === undefined ? null : formatIp(a)
      if (ours !== oracle.parse[i]) diffs.push({ text, ours, python: oracle.parse[i] })
    })
    expect(diffs.slice(0, 10), why).toEqual([])
    // Not degenerate: both verdicts are well represented.
    const valid = oracle.parse.filter((x) => x !== null).length
    expect(valid).toBeGreaterThan(N_PARSE / 4)
    expect(valid).toBeLessThan((N_PARSE * 3) / 4)
  })

  it(`compileAllowlist agrees with ipaddress (strict networks) on ${N_CIDR} entries`, () => {
    const diffs: unknown[] = []
    cidrCases.forEach((entry, i) => {
      let ours: string | null
      try {
        const entries = compileAllowlist([entry], 'allowedIps').entries
        expect(entries).toHaveLength(1)
        ours = entries[0]!
      } catch (e) {
        expect(e).toBeInstanceOf(RangeError)
        ours = null
      }
      if (ours !== oracle.cidr[i]) diffs.push({ entry, ours, python: oracle.cidr[i] })
    })
    expect(diffs.slice(0, 10), why).toEqual([])
    expect(oracle.cidr.filter((x) => x !== null).length).toBeGreaterThan(N_CIDR / 4)
  })

  it(`allowlistHas agrees with ipaddress on ${N_MEMBER} (list, address) pairs`, () => {
    const diffs: unknown[] = []
    memberCases.forEach(({ entries, addr }, i) => {
      const a = parseIp(addr)
      expect(a, `generated address ${addr} must parse`).toBeDefined()
      const ours = allowlistHas(compileAllowlist(entries, 'allowedIps'), a)
      if (ours !== oracle.member[i]) diffs.push({ entries, addr, ours, python: oracle.member[i] })
    })
    expect(diffs.slice(0, 10), why).toEqual([])
  })

  it('the membership cases cover both verdicts, both families, mapped text and the IPv6-covers-IPv4 rule', () => {
    const yes = oracle.member.filter(Boolean).length
    expect(yes).toBeGreaterThan(N_MEMBER / 5)
    expect(N_MEMBER - yes).toBeGreaterThan(N_MEMBER / 5)
    const stats = { v4InV6List: 0, v6AddrV4List: 0, mappedText: 0, edge: 0 }
    memberCases.forEach(({ entries, addr }, i) => {
      const a = parseIp(addr)!
      const lists = entries.map((e) => compileAllowlist([e], 'x').entries[0]!)
      const allV6 = lists.every((e) => e.includes(':'))
      if (a.family === 4 && allV6 && oracle.member[i]) stats.v4InV6List++
      if (a.family === 6 && lists.every((e) => !e.includes(':'))) stats.v6AddrV4List++
      if (a.family === 4 && addr.includes(':')) stats.mappedText++
      if (lists.some((e) => /\/(0|31|32|127|128)$/.test(e) || !e.includes('/'))) stats.edge++
    })
    expect(stats.v4InV6List).toBeGreaterThan(10)
    expect(stats.v6AddrV4List).toBeGreaterThan(50)
    expect(stats.mappedText).toBeGreaterThan(500)
    expect(stats.edge).toBeGreaterThan(500)
  })
})
