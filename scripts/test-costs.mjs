// Summarizes a KEYWARD_TEST_COSTS file (one JSON line per test file, written by
// test/_support/costs.ts): total CPU, and the files that cost the most CPU, with their wall time.
//
//   KEYWARD_TEST_COSTS=/tmp/costs.jsonl npm test && node scripts/test-costs.mjs /tmp/costs.jsonl [top]
import { readFileSync } from 'node:fs'

const [file, top = '15'] = process.argv.slice(2)
if (file === undefined) {
  console.error('usage: node scripts/test-costs.mjs <costs.jsonl> [top]')
  process.exit(2)
}
const rows = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l))
rows.sort((a, b) => (b.cpuMs ?? 0) - (a.cpuMs ?? 0))
const total = rows.reduce((s, r) => s + (r.cpuMs ?? 0), 0)
const startup = rows.reduce((s, r) => s + (r.beforeCpuMs ?? 0), 0)
console.log(`${rows.length} files, ${(total / 1000).toFixed(1)} s CPU in test processes and their children (${(startup / 1000).toFixed(1)} s of it before the first test: worker start and imports)`)
console.log('   CPU s   wall s  file')
for (const r of rows.slice(0, Number(top))) console.log(`${((r.cpuMs ?? 0) / 1000).toFixed(1).padStart(8)} ${(r.wallMs / 1000).toFixed(1).padStart(8)}  ${r.file}`)
