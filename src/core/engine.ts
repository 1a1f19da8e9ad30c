/**
 * Setup time, part two: the {@link Engine} built once from a validated {@link Config}: the store
 * gate, the compiled-record caches, the deny table, the header names to read, the extraction step.
 * @module
 */
import { extractor } from './_extract.js'
import { HeaderNames } from '../lib/headers.js'
import { needCompiler } from './needs.js'
import { Toucher } from './_touch.js'
import type { Engine } from './context.js'
import { DenyTable } from './deny.js'
import type { Config } from './options.js'
import { Records } from './records.js'
import { StoreGate } from './store-gate.js'

/** The engine of one authorizer. */
export function createEngine(config: Config): Engine {
  const { store, schemes, touchMs, timeoutMs } = config
  // Stryker disable next-line ArrayDeclaration: equivalent, one more header collected is one no scheme reads
  const names: string[] = []
  for (const s of schemes) names.push(...s.headers)
  // Stryker disable next-line ConditionalExpression: equivalent, a policy that trusts no proxy ignores forwarded headers it is given
  if (config.net.trusting) names.push('x-forwarded-for', 'x-forwarded-proto')
  const headerNames = new HeaderNames(names)
  const toucher = touchMs > 0 && typeof store.touch === 'function' ? new Toucher((id, at) => store.touch!(id, at), touchMs, timeoutMs) : undefined
  return Object.freeze({
    ...config,
    gate: new StoreGate(store, timeoutMs, config.breaker, config.now),
    records: new Records(config.roles, config.rolePrecedence),
    denies: new DenyTable(schemes, config.realm, config.exposeReasons),
    toucher,
    headerNames,
    compileNeed: needCompiler(config.roles),
    extract: extractor(schemes),
    pairing: schemes.some((x) => x.name === 'contrast'),
  })
}
