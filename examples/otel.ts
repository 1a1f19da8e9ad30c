/**
 * The InsightAppSec-like Express API with OpenTelemetry: `keyward/otel` records decisions, their
 * duration, cache and store metrics, and a `keyward.authorize` span per request, into whatever
 * SDK the application registered. Here an in-memory metrics reader stands in for an exporter,
 * and GET /metrics-summary shows what it read.
 *
 *   npx tsx examples/otel.ts        # prints curl commands to try
 */
import { createServer } from 'node:http'
import { cachedStore, MemoryKeyStore, type KeyStore } from '../src/index.js'
import { otel } from '../src/otel/index.js'
import { createApp } from './express.js'
import { curls, makeAuthorizer, seedKeys } from './_insightappsec.js'
import { isMain, runStandalone, serve, type StartOptions, type Started } from './_shared.js'
import { memoryMetrics, type Summary } from './_telemetry.js'

/** Starts the example; `summary()` reads the metrics recorded so far. */
export async function start(options: StartOptions = {}): Promise<Started & { summary(): Promise<Summary> }> {
  const metrics = memoryMetrics()
  // In an application: `otel()` alone, after the OpenTelemetry SDK registered its providers.
  const telemetry = otel({ meterProvider: metrics.meterProvider })
  const store = new MemoryKeyStore()
  const keys = await seedKeys(store)
  const inner = options.wrapStore
  // The cache counts its hits; the store that leaves the process (here, in memory) goes inside telemetry.store().
  const wrapStore = (s: KeyStore): KeyStore => cachedStore(telemetry.store(inner ? inner(s) : s), { observer: telemetry.cacheObserver })
  const authorizer = telemetry.instrument(makeAuthorizer(store, { ...options, wrapStore, configure: telemetry.options }))
  const app = createApp(authorizer)
  app.get('/metrics-summary', (_req, res) => {
    void metrics.lines().then((lines) => res.type('text/plain').send(lines.join('\n') + '\n'))
  })
  const started = await serve(createServer(app), authorizer, keys, options)
  return {
    ...started,
    summary: () => metrics.summary(),
    close: async () => {
      await started.close()
      await metrics.shutdown()
    },
  }
}

if (isMain(import.meta.url)) {
  await runStandalone('InsightAppSec-like API with OpenTelemetry (Express)', start, (s, secrets) => [...curls(s, secrets), `curl -s ${s.url}/metrics-summary`])
}
