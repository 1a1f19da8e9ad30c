/**
 * Decision events for `onDecision`: built only when someone listens, from what the request
 * decided. They carry the key id, never the key, its hash, or the request's query string.
 * @module
 */
import type { Decision, DecisionEvent } from '../types.js'
import { clientOf, type Ctx } from './context.js'

/** Query and fragment never reach logs: keys in URLs must not be written anywhere. */
export function pathOf(url: string | undefined): string | undefined {
  if (typeof url !== 'string') return undefined
  let end = url.length
  const q = url.indexOf('?')
  if (q >= 0) end = q
  const h = url.indexOf('#')
  // Stryker disable next-line EqualityOperator: h never equals end, which is the index of another character ('?') or the length
  if (h >= 0 && h < end) end = h
  let path = url.slice(0, end)
  const scheme = path.indexOf('://')
  if (scheme > 0 && scheme < 10) {
    const slash = path.indexOf('/', scheme + 3)
    // Stryker disable next-line EqualityOperator: the search starts after "://", so a slash is never at 0
    path = slash < 0 ? '/' : path.slice(slash)
  }
  return path.slice(0, 2048)
}

/** The event of decision `d` for request `ctx`; optional fields are absent, never `undefined`. */
export function eventOf(ctx: Ctx, d: Decision, detail: string | undefined): DecisionEvent {
  const e: { -readonly [K in keyof DecisionEvent]: DecisionEvent[K] } = { allow: d.allow, status: d.status } as DecisionEvent
  if (!d.allow) {
    e.code = d.code
    e.reason = d.reason
  }
  if (detail !== undefined) e.detail = detail
  if (ctx.keyId !== undefined) e.keyId = ctx.keyId
  if (ctx.tenant !== undefined) e.tenant = ctx.tenant
  if (ctx.scheme !== undefined) e.scheme = ctx.scheme.name
  const ip = clientOf(ctx).text
  if (ip !== undefined) e.clientIp = ip
  e.method = typeof ctx.request.method === 'string' ? ctx.request.method.slice(0, 32) : ''
  const path = pathOf(ctx.request.url)
  if (path !== undefined) e.path = path
  if (ctx.need.operation !== undefined) e.operation = ctx.need.operation
  e.durationMs = performance.now() - ctx.t0
  e.at = ctx.at
  return e
}

/** Hands `d` to `onDecision` (what it throws is swallowed) and returns `d`. */
export function emit(ctx: Ctx, d: Decision, detail?: string): Decision {
  const on = ctx.e.onDecision
  // Stryker disable next-line ConditionalExpression: calling a missing listener throws inside the try below and is swallowed; the decision is the same
  if (on) {
    try {
      on(eventOf(ctx, d, detail), d)
    } catch {
      // Logging must never change or break a decision.
    }
  }
  return d
}
