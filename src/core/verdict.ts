/**
 * The two ways a request ends: {@link deny} (a row of the deny table plus what this request
 * adds) and {@link allow}; both are reported to `onDecision`.
 * @module
 */
import { KeyPrincipal } from '../principal.js'
import type { AllowDecision, Decision, DenyReason } from '../types.js'
import type { Ctx } from './context.js'
import type { DenyExtra } from './deny.js'
import { emit } from './events.js'
import type { Subject } from './records.js'
import type { Failed } from './store-gate.js'

export function deny(ctx: Ctx, reason: DenyReason, extra?: DenyExtra): Decision {
  const d = ctx.e.denies.deny(ctx.scheme, reason, extra)
  // The event's detail: the one given, else the permission or operation the route names.
  return emit(ctx, d, extra?.detail ?? extra?.subject)
}

export function storeDown(ctx: Ctx, f: Failed): Decision {
  return deny(ctx, 'store_unavailable', { retryAfterSec: f.retryAfterSec, detail: f.detail })
}

/** A fault reading the store's answer (a getter over a dropped connection) is a store failure. */
export function readFault(ctx: Ctx, e: unknown): Decision {
  return storeDown(ctx, ctx.e.gate.failure(e))
}

export function allow(ctx: Ctx, subject: Subject, headers: Record<string, string>): Decision {
  const d: AllowDecision = { allow: true, status: 200, principal: new KeyPrincipal(subject, ctx.scheme!.name, subject.perms), headers }
  return emit(ctx, d)
}
