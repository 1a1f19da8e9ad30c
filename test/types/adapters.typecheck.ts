/**
 * Type-level test of the adapters' typed principal. Never run, only type-checked:
 * `test/types/typecheck.test.ts` type-checks it against the built declarations, and every
 * `@ts-expect-error` line must really be an error (an unused one is reported), so wrong uses are
 * proven to fail. It imports keyward by package name, as a user does (`tsconfig.json` maps the
 * names to the sources for an editor and `npm run typecheck`).
 */
import express from 'express'
import { Hono } from 'hono'
import Koa from 'koa'
import { guard as expressGuard } from 'keyward/express'
import { guard as honoGuard, type KeywardEnv } from 'keyward/hono'
import { guard as koaGuard, type KeywardState } from 'keyward/koa'
import { createAuthorizer, MemoryKeyStore, type Principal } from 'keyward'

const authorizer = createAuthorizer({ store: new MemoryKeyStore() })

/** Accepts exactly `T`: `expectType<string>(x)` fails if x is `string | undefined` or `any`-typed wrongly. */
function expectType<T>(value: T): T {
  return value
}
type IsAny<T> = 0 extends 1 & T ? true : false
function expectNotAny<T>(_value: T & (IsAny<T> extends true ? never : unknown)): void {}

// ---- Express: req.principal by declaration merging ------------------------------------------------
{
  const app = express()
  const requireKey = expressGuard(authorizer)
  app.use(requireKey())
  app.post('/apps/:appId/scans', requireKey('scans:manage'), (req, res) => {
    // Optional: a preflight passes through without one.
    expectType<Principal | undefined>(req.principal)
    expectNotAny(req.principal)
    expectType<string | undefined>(req.principal?.keyId)
    // The route string still types its parameters through the guard.
    expectType<string>(req.params.appId)
    // @ts-expect-error principal may be undefined: it must be checked before use
    req.principal.keyId.toUpperCase()
    // @ts-expect-error a principal never carries the key or its hash
    void req.principal?.hash
    // @ts-expect-error not a parameter of this route
    void req.params.scanId
    res.end()
  })
  // @ts-expect-error a need is a permission string or { permission?, operation? }
  requireKey(42)
}

// ---- Koa: ctx.state.principal through KeywardState ------------------------------------------------
{
  const app = new Koa<KeywardState>()
  app.use(koaGuard(authorizer)('apps:read'))
  app.use((ctx) => {
    expectType<string>(ctx.state.principal.keyId)
    expectNotAny(ctx.state.principal)
    expectType<boolean>(ctx.state.principal.can('apps:manage'))
    // @ts-expect-error keyId is a string
    expectType<number>(ctx.state.principal.keyId)
    // @ts-expect-error principals are read-only
    ctx.state.principal.keyId = 'forged'
  })
  // The middleware adds `principal` to the state of the app it is used on.
  const typed = new Koa().use(koaGuard(authorizer)())
  typed.use((ctx) => {
    expectType<Principal>(ctx.state.principal)
  })
}

// ---- Hono: c.get('principal') without a cast ------------------------------------------------------
{
  const requireKey = honoGuard(authorizer)
  const app = new Hono()
  // Per route: the Env is inferred from the guard.
  app.get('/apps', requireKey('apps:read'), (c) => {
    expectType<string>(c.get('principal').keyId)
    expectNotAny(c.get('principal'))
    expectType<Principal>(c.var.principal)
    // @ts-expect-error no such variable
    c.get('principals')
    // @ts-expect-error keyId is a string
    expectType<number>(c.get('principal').keyId)
    return c.text(c.get('principal').keyId)
  })
  // App-wide: declare the Env once.
  const wide = new Hono<KeywardEnv>()
  wide.use(requireKey())
  wide.get('/me', (c) => c.json({ id: c.get('principal').keyId }))
  // Without the guard (or KeywardEnv) there is no principal to get.
  const bare = new Hono()
  bare.get('/open', (c) => {
    // @ts-expect-error no guard on this app or route: principal is not a variable here
    c.get('principal').keyId
    return c.text('ok')
  })
}
