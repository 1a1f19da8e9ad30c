/**
 * The OpenTelemetry SDK as an application sets it up, with in-memory exporters: an
 * AsyncLocalStorage context manager (what the Node SDK registers), a tracer provider exporting to
 * memory, and a meter provider read on demand.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { context, ROOT_CONTEXT, type Context, type ContextManager } from '@opentelemetry/api'
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type MetricReader, type DataPoint } from '@opentelemetry/sdk-metrics'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'

class AlsContextManager implements ContextManager {
  readonly #als = new AsyncLocalStorage<Context>()
  active(): Context {
    return this.#als.getStore() ?? ROOT_CONTEXT
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    return this.#als.run(ctx, () => fn.apply(thisArg, args))
  }
  bind<T>(_ctx: Context, target: T): T {
    return target
  }
  enable(): this {
    return this
  }
  disable(): this {
    this.#als.disable()
    return this
  }
}

/** One application's telemetry pipeline, all in memory. */
export function sdk() {
  const manager = new AlsContextManager()
  context.setGlobalContextManager(manager)
  const spans = new InMemorySpanExporter()
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] })
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
  const reader: MetricReader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 })
  const meterProvider = new MeterProvider({ readers: [reader] })
  return {
    tracerProvider,
    meterProvider,
    spans,
    /** Every data point as `name{attr=value,...} value` (histograms: count), sorted. */
    async series(): Promise<string[]> {
      const { resourceMetrics } = await reader.collect()
      const out: string[] = []
      for (const scope of resourceMetrics.scopeMetrics) {
        for (const m of scope.metrics) {
          for (const p of m.dataPoints as DataPoint<unknown>[]) {
            const attrs = Object.entries(p.attributes).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${String(v)}`).join(',')
            const v = p.value
            const value = typeof v === 'number' ? v : `count=${(v as { count: number }).count}`
            out.push(`${m.descriptor.name}{${attrs}} ${value}`)
          }
        }
      }
      return out.sort()
    },
    /** Everything exported, metric points and spans, as one text (for the leak test). */
    async everything(): Promise<string> {
      const { resourceMetrics } = await reader.collect()
      return JSON.stringify(resourceMetrics.scopeMetrics) + JSON.stringify(spans.getFinishedSpans().map((s) => ({ name: s.name, attributes: s.attributes, events: s.events, status: s.status })))
    },
    async close(): Promise<void> {
      context.disable()
      await meterProvider.shutdown()
      await tracerProvider.shutdown()
    },
  }
}
