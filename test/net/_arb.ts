/**
 * fast-check generators for address tests. Address texts are written here from raw integers,
 * independently of `formatIp` wherever the form is not the RFC 5952 one, so that tests of the
 * parser do not only feed it its own output.
 */
import fc from 'fast-check'

/** Fixed seed for reproducible runs; override with KEYWARD_FC_SEED=<int>. */
export const SEED = Number(process.env.KEYWARD_FC_SEED ?? 0x6b657977)

export const u32 = fc.oneof(
  fc.integer({ min: 0, max: 0xffffffff }),
  fc.constantFrom(0, 1, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0x0a000000, 0xc0a80101),
)

/** Four 32-bit words, biased towards interesting IPv6 neighbourhoods. */
export const v6Words: fc.Arbitrary<number[]> = fc.oneof(
  fc.tuple(u32, u32, u32, u32),
  fc.tuple(fc.constant(0), fc.constant(0), fc.constantFrom(0, 0xffff, 0xfffe, 0x1ffff, 0xffff0000), u32),
  fc.tuple(fc.constant(0x20010db8), fc.constantFrom(0, 1, 0xffff0000), fc.constantFrom(0, 5), u32),
  fc.tuple(fc.constant(0xfe800000), fc.constant(0), fc.constantFrom(0, 0xffffffff), fc.constantFrom(0, 1)),
  fc.tuple(fc.constant(0), fc.constant(0), fc.constant(0), fc.constantFrom(0, 1, 0x01020304)),
).map((t) => t.map((x) => x >>> 0))

export function dotted(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`
}

export function hextets(w: readonly number[]): number[] {
  const h: number[] = []
  for (const x of w) h.push(x >>> 16, x & 0xffff)
  return h
}

/** Zero runs `[start, length]` in eight hextets, every sub-run of every run included. */
function zeroRuns(h: readonly number[]): [number, number][] {
  const out: [number, number][] = []
  for (let i = 0; i < 8; i++) {
    for (let j = i; j < 8 && h[j] === 0; j++) out.push([i, j - i + 1])
  }
  return out
}

function hexGroup(x: number, pad: boolean, upper: boolean): string {
  let s = x.toString(16)
  if (pad) s = s.padStart(4, '0')
  return upper ? s.toUpperCase() : s
}

export type V6Style = 'full' | 'padded' | 'anyRun' | 'dotted' | 'dottedRun'

/**
 * A valid RFC 4291 §2.2 text form of `w`: full, zero-padded, `::` on any zero run (not only the
 * RFC 5952 choice), or with the low 32 bits as a dotted quad.
 */
export function v6Text(w: readonly number[], style: V6Style, pick: number, upper: boolean): string {
  const h = hextets(w)
  const groups = (a: number, b: number, pad = false): string[] => h.slice(a, b).map((x) => hexGroup(x, pad, upper))
  const tail = dotted(w[3]!)
  switch (style) {
    case 'full':
      return groups(0, 8).join(':')
    case 'padded':
      return groups(0, 8, true).join(':')
    case 'dotted':
      return `${groups(0, 6).join(':')}:${tail}`
    case 'anyRun':
    case 'dottedRun': {
      const dottedForm = style === 'dottedRun'
      const limit = dottedForm ? 6 : 8
      const runs = zeroRuns(h).filter(([s, n]) => s + n <= limit)
      if (runs.length === 0) return dottedForm ? `${groups(0, 6).join(':')}:${tail}` : groups(0, 8).join(':')
      const [s, n] = runs[pick % runs.length]!
      const left = groups(0, s).join(':')
      const right = [...groups(s + n, limit), ...(dottedForm ? [tail] : [])].join(':')
      return `${left}::${right}`
    }
  }
}

export const v6Style = fc.constantFrom<V6Style>('full', 'padded', 'anyRun', 'anyRun', 'dotted', 'dottedRun')

/** Any valid IPv6 text, with the words it denotes. */
export const v6Arb = fc
  .tuple(v6Words, v6Style, fc.nat(), fc.boolean())
  .map(([w, style, pick, upper]) => ({ words: w, text: v6Text(w, style, pick, upper) }))

/** Texts of an IPv4 address: dotted quad, or one of its IPv4-mapped IPv6 forms. */
export function v4Texts(v: number): string[] {
  const hi = (v >>> 16).toString(16)
  const lo = (v & 0xffff).toString(16)
  return [
    dotted(v),
    `::ffff:${dotted(v)}`,
    `::FFFF:${dotted(v)}`,
    `::ffff:${hi}:${lo}`,
    `0:0:0:0:0:ffff:${dotted(v)}`,
    `0000:0000:0000:0000:0000:FFFF:${hi.toUpperCase()}:${lo}`,
    `0::ffff:${hi}:${lo}`,
  ]
}

const MUTATION_CHARS = [...'0123456789abcdefABCDEFxX:::...%/[] \t\n,-+gz', '\u00a0', '\u0661', '\uff11', '\u200b', '\ud800', '::', '%eth0', ':80']

/** A few random edits (insert, delete, replace) of `s`. Often invalid, sometimes still valid. */
export const mutate = (base: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc
    .tuple(base, fc.array(fc.tuple(fc.constantFrom('ins', 'del', 'rep'), fc.nat(), fc.constantFrom(...MUTATION_CHARS)), { minLength: 1, maxLength: 3 }))
    .map(([s, edits]) => {
      let out = s
      for (const [op, at, ch] of edits) {
        const i = out.length === 0 ? 0 : at % (out.length + (op === 'ins' ? 1 : 0))
        if (op === 'ins') out = out.slice(0, i) + ch + out.slice(i)
        else if (op === 'del') out = out.slice(0, i) + out.slice(i + 1)
        else out = out.slice(0, i) + ch + out.slice(i + 1)
      }
      return out
    })

/** Candidate address texts: valid ones of both families and their mutations, plus noise. */
export const addressText: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(u32, fc.nat()).map(([v, k]) => v4Texts(v)[k % 7]!),
  v6Arb.map((x) => x.text),
  mutate(fc.tuple(u32, fc.nat()).map(([v, k]) => v4Texts(v)[k % 7]!)),
  mutate(v6Arb.map((x) => x.text)),
  fc.string({ unit: 'binary', maxLength: 48 }),
  fc.stringMatching(/^[0-9a-fA-F:.]{0,46}$/),
)

/** The int32 mask of a prefix within one 32-bit word. */
export function maskOf(bits: number): number {
  return bits <= 0 ? 0 : bits >= 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0
}

export function toBig(w: readonly number[]): bigint {
  return w.reduce((acc, x) => (acc << 32n) | BigInt(x >>> 0), 0n)
}

export function fromBig(b: bigint): number[] {
  const m = (1n << 128n) - 1n
  const v = ((b % (1n << 128n)) + (1n << 128n)) & m
  return [Number((v >> 96n) & 0xffffffffn), Number((v >> 64n) & 0xffffffffn), Number((v >> 32n) & 0xffffffffn), Number(v & 0xffffffffn)]
}
