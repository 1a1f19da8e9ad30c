/**
 * An in-memory OpenTelemetry metrics pipeline for the examples and the demo: the SDK's
 * `MeterProvider` with a reader collected on demand, and a short summary of what keyward recorded
 * (decisions by code, the cache hit ratio). A real server registers its SDK and exporter instead.
 */
import { MeterProvider, MetricReader, type DataPoint } from '@opentelemetry/sdk-metrics'

/** A reader that exports nothing on its own: `collect()` reads the current values. */
class OnDemandReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

/** The summary's numbers. */
export interface Summary {
  /** `keyward.decisions` summed by code (`allow` for allowed requests). */
  readonly byCode: Readonly<Record<string, number>>
  /** `keyward.cache.lookups`: hits (found and negative) and misses. */
  readonly cache: { readonly hits: number; readonly misses: number }
}

export function memoryMetrics(): { meterProvider: MeterProvider; summary(): Promise<Summary>; lines(): Promise<string[]>; shutdown(): Promise<void> } {
  const reader = new OnDemandReader()
  const meterProvider = new MeterProvider({ readers: [reader] })
  async function summary(): Promise<Summary> {
    const byCode: Record<string, number> = {}
    let hits = 0
    let misses = 0
    const { resourceMetrics } = await reader.collect()
    for (const scope of resourceMetrics.scopeMetrics) {
      for (const m of scope.metrics) {
        for (const p of m.dataPoints as DataPoint<number>[]) {
          if (m.descriptor.name === 'keyward.decisions') {
            const code = String(p.attributes['keyward.code'] ?? 'allow')
            byCode[code] = (byCode[code] ?? 0) + p.value
          } else if (m.descriptor.name === 'keyward.cache.lookups') {
            if (p.attributes['keyward.cache.result'] === 'miss') misses += p.value
            else hits += p.value
          }
        }
      }
    }
    return { byCode, cache: { hits, misses } }
  }
  return {
    meterProvider,
    summary,
    async lines() {
      const s = await summary()
      const codes = Object.entries(s.byCode).sort(([, a], [, b]) => b - a)
      const total = s.cache.hits + s.cache.misses
      return [
        'Metrics (keyward/otel, read from an in-memory OpenTelemetry reader):',
        `  keyward.decisions by code: ${codes.map(([c, n]) => `${c} ${n}`).join(', ')}`,
        `  keyward.cache.lookups: ${s.cache.hits} hits, ${s.cache.misses} misses, hit ratio ${total === 0 ? 'n/a' : `${Math.round((100 * s.cache.hits) / total)}%`}`,
      ]
    },
    shutdown: () => meterProvider.shutdown(),
  }
}
