/**
 * `npm run demo`: starts every example server on a free loopback port with the in-memory store,
 * issues keys, sends real HTTP requests for every reference product (allowed, 400, 401, 403,
 * 429 and 503), plays two scenes (a trial key that runs out of credits; a leaked key reported to
 * the leak handler and then refused), and prints what came back. Exits 0 only if every request got the expected answer.
 * Keys are never printed in full: only their prefix.
 *
 * `npm run demo -- --serve`: the same tour, then one server on loopback (PORT, or a free port)
 * with the InsightAppSec-like example API and the admin console, and a demo admin Org key printed
 * so it can be pasted into the console. Runs until Ctrl-C.
 */
import { argv } from 'node:process'

const USAGE = 'usage: npm run demo [-- --serve]'
const args = argv.slice(2)
const unknown = args.filter((a) => a !== '--serve')

if (unknown.length > 0) {
  // Answered before the servers and frameworks are loaded (a second or more on a slow machine).
  console.error(`demo: unknown argument ${JSON.stringify(unknown[0])}; ${USAGE}`)
  process.exitCode = 2
} else {
  try {
    const { runDemo, serveUntilStopped } = await import('./_demo.js')
    const results = await runDemo()
    const ok = results.every((r) => r.ok)
    process.exitCode = ok ? 0 : 1
    // A tour with a wrong answer is a bug to look at, not a server to keep running.
    if (args.includes('--serve') && ok) await serveUntilStopped()
  } catch (e) {
    console.error('demo failed:', e instanceof Error ? e.message : e)
    process.exitCode = 1
  }
}
