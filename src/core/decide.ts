/**
 * Request time: one decision, in the order of the contract. The first failure decides:
 * transport → extraction → format/checksum → store lookup → tenant → active/group/owner →
 * expiry/rotation → client address → permission → explicit grant → rate limit → credits.
 * @module
 */
import { collectHeaders } from '../lib/headers.js'
import type { CompiledNeed } from './needs.js'
import { typeError } from '../errors.js'
import type { AuthRequest, Decision, Need } from '../types.js'
import { Ctx, type Engine, type Step } from './context.js'
import { pair, single, token } from './credentials.js'
import { deny } from './verdict.js'

/**
 * The whole decision. Returns it directly when no step had to wait (every lookup answered by a
 * peek, no rate limiter, no token), else a promise of it. Throws only on misuse.
 */
export function decide(e: Engine, request: AuthRequest, need: Need | CompiledNeed | undefined, describing = false): Step {
  if (request === null || typeof request !== 'object') throw typeError('request', 'must be an object')
  const ctx = new Ctx(
    e,
    request,
    collectHeaders(request.headers, e.headerNames),
    e.now(),
    // Only decision events report a duration: no clock read when nobody listens.
    e.onDecision ? performance.now() : 0,
    e.compileNeed(need),
  )
  ctx.describing = describing
  // 1. Transport, before anything else: a key sent in clear is not even looked at.
  // Stryker disable next-line ConditionalExpression: equivalent, NetPolicy parses the peer with socketAddress, which takes a non-string as no address
  if (e.requireTls && !e.net.isSecure(request.secure, typeof request.remoteAddress === 'string' ? request.remoteAddress : undefined, ctx.values.get('x-forwarded-proto'))) {
    return deny(ctx, 'insecure_transport')
  }
  // 2. Extraction: exactly one credential.
  const refused = e.extract(ctx.values, ctx)
  if (refused !== undefined) return deny(ctx, refused)
  const scheme = ctx.scheme!
  const found = ctx.found!
  let d: Step
  switch (found.type) {
    case 'key':
      d = single(ctx, found.key)
      break
    case 'pair':
      d = pair(ctx, found)
      break
    case 'token':
      // Tokens are verified, not looked up: nothing to record as used.
      // Stryker disable next-line ConditionalExpression: equivalent, token() catches the TypeError of calling a missing verify, before its first await, and denies invalid_token
      return typeof scheme.verify === 'function' ? token(ctx, scheme, found.token) : deny(ctx, 'invalid_token')
    default:
      return deny(ctx, 'malformed_credentials')
  }
  return touched(ctx, d)
}

/** Records an allowed key as used (batched by the toucher). */
function touched(ctx: Ctx, d: Step): Step {
  const t = ctx.e.toucher
  if (t === undefined) return d
  if (!(d instanceof Promise)) {
    if (d.allow) t.record(d.principal.keyId, ctx.at)
    return d
  }
  return d.then((x: Decision) => {
    if (x.allow) t.record(x.principal.keyId, ctx.at)
    return x
  })
}
