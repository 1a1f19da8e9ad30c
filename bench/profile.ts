/**
 * `npx tsx bench/profile.ts <folder>`: compares the CPU profiles the HTTP bench servers write with
 * BENCH_HTTP_CPU_PROF=<folder> (`npm run bench -- attribution` or `-- http`), bare against each
 * other step of a framework: self time per request by where the code lives (keyward's sources,
 * the framework and other packages, Node's internals, garbage collection, V8's own work), and the
 * functions whose self time per request grew the most.
 *
 * Self time is the sampling profiler's (500 µs interval), divided by the requests the server
 * served while profiling; idle samples are left out. The profiler samples wall time while the
 * thread runs, so on a loaded machine the absolute µs are inflated like everything else: read
 * the shares and the differences.
 * @module
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

interface ProfileNode {
  readonly id: number
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
}
interface Profile {
  readonly nodes: readonly ProfileNode[]
  readonly samples: readonly number[]
  readonly timeDeltas: readonly number[]
  readonly requests: number
}

/** Where a frame's code lives. */
export function bucketOf(url: string, name: string): string {
  if (name === '(garbage collector)') return 'garbage collection'
  if (name === '(program)' || name === '(root)') return 'V8 / native (program)'
  if (url.includes('/node_modules/')) return 'framework and other packages'
  if (url.startsWith('node:') || url === '') return 'Node internals and builtins'
  if (url.includes('/src/')) return 'keyward (src/)'
  return 'bench harness'
}

/** Self µs per request, by function (`name file:line`) and by bucket; idle left out. */
export function selfTimes(p: Profile): { byFn: Map<string, number>; byBucket: Map<string, number> } {
  const nodes = new Map(p.nodes.map((n) => [n.id, n]))
  const byFn = new Map<string, number>()
  const byBucket = new Map<string, number>()
  const n = p.requests > 0 ? p.requests : NaN
  for (let i = 0; i < p.samples.length; i++) {
    const f = nodes.get(p.samples[i]!)?.callFrame
    if (f === undefined || f.functionName === '(idle)') continue
    const us = (p.timeDeltas[i] ?? 0) / n
    const file = f.url.replace(/^.*\/(node_modules\/|src\/|bench\/)/, '$1')
    const key = `${f.functionName || '(anonymous)'} ${file}:${f.lineNumber + 1}`
    byFn.set(key, (byFn.get(key) ?? 0) + us)
    const b = bucketOf(f.url, f.functionName)
    byBucket.set(b, (byBucket.get(b) ?? 0) + us)
  }
  return { byFn, byBucket }
}

const sum = (m: ReadonlyMap<string, number>): number => [...m.values()].reduce((a, x) => a + x, 0)
const f1 = (x: number): string => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(2)}`

function compare(name: string, bare: Profile, other: Profile, top: number): string[] {
  const a = selfTimes(bare)
  const b = selfTimes(other)
  const out = [`### ${name}`, '', `requests profiled: bare ${bare.requests}, this ${other.requests}`, '', '| where | bare µs/req | this µs/req | difference |', '|---|---:|---:|---:|']
  const buckets = [...new Set([...a.byBucket.keys(), ...b.byBucket.keys()])].sort()
  for (const k of buckets) {
    const x = a.byBucket.get(k) ?? 0
    const y = b.byBucket.get(k) ?? 0
    out.push(`| ${k} | ${x.toFixed(2)} | ${y.toFixed(2)} | ${f1(y - x)} |`)
  }
  out.push(`| **all but idle** | ${sum(a.byBucket).toFixed(2)} | ${sum(b.byBucket).toFixed(2)} | ${f1(sum(b.byBucket) - sum(a.byBucket))} |`, '')
  const fns = [...new Set([...a.byFn.keys(), ...b.byFn.keys()])]
    .map((k) => [k, (b.byFn.get(k) ?? 0) - (a.byFn.get(k) ?? 0)] as const)
    .sort((x, y) => y[1] - x[1])
    .slice(0, top)
  out.push('| function (self time grew most) | difference µs/req |', '|---|---:|', ...fns.map(([k, d]) => `| \`${k}\` | ${f1(d)} |`), '')
  return out
}

function main(): void {
  const dir = process.argv[2]
  if (dir === undefined) throw new Error('usage: npx tsx bench/profile.ts <folder written with BENCH_HTTP_CPU_PROF>')
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))
  const read = (f: string): Profile => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Profile
  const lines: string[] = []
  for (const f of files.filter((x) => x.endsWith('-bare.cpuprofile'))) {
    const framework = f.slice(0, -'-bare.cpuprofile'.length)
    const bare = read(f)
    for (const g of files.filter((x) => x.startsWith(`${framework}-`) && x !== f).sort()) {
      lines.push(...compare(`${framework}: bare → ${g.slice(framework.length + 1, -'.cpuprofile'.length)}`, bare, read(g), 15))
    }
  }
  process.stdout.write(`${lines.join('\n')}\n`)
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main()
