/**
 * The README's admin code blocks ("Admin API and web console"), verbatim: the set-up, then the
 * mount for each framework. `admin-readme.test.ts` joins the set-up with each mount into a
 * program, type-checks it with strict settings in a scratch project that imports `keyward` by
 * package name, runs it with tsx and calls it over HTTP on 127.0.0.1.
 */

/** The handler: store, manager, authorizer, audit log, first administrator. */
export const SETUP = `import { createAuthorizer, KeyManager, MemoryKeyStore } from 'keyward'
import { createAdminHandler } from 'keyward/admin'

const store = new MemoryKeyStore()
const manager = new KeyManager(store, { pepper: process.env.KEYWARD_PEPPER })
const authorizer = createAuthorizer({ store, pepper: process.env.KEYWARD_PEPPER })

const admin = createAdminHandler({
  manager,
  authorizer,                                              // the same one that protects your API
  onAudit: (event) => console.info(JSON.stringify(event)), // one event per admin call; never a key or a hash
})

// Bootstrap the first administrator once, in code or a script:
const { key } = await manager.issue({ kind: 'org', tenant: 'acme', description: 'first admin' })
`

/** Mounting on Hono with @hono/node-server. */
export const HONO = `import { serve, type HttpBindings } from '@hono/node-server'
import { Hono } from 'hono'

const app = new Hono<{ Bindings: HttpBindings }>()
// \`/admin/*\` also matches \`/admin\`.
app.all('/admin/*', (c) =>
  admin(c.req.raw, { remoteAddress: c.env.incoming.socket.remoteAddress, secure: false }),
)
serve({ fetch: app.fetch, hostname: '127.0.0.1', port: Number(process.env.PORT ?? 8080) })
// Console: http://127.0.0.1:8080/admin/
`

/** Mounting on Express 4/5 with keyward/express. */
export const EXPRESS = `import express from 'express'
import { adminMiddleware } from 'keyward/express'

const app = express()
// At the handler's basePath, and before any body parser: the mount reads the body itself.
app.use('/admin', adminMiddleware(admin))
app.use(express.json()) // your API's parser comes after it
app.listen(Number(process.env.PORT ?? 8080), '127.0.0.1')
// Console: http://127.0.0.1:8080/admin/
`

/** Mounting on Koa 2/3 with keyward/koa. */
export const KOA = `import Koa from 'koa'
import { adminMiddleware } from 'keyward/koa'

const app = new Koa()
// Koa has no mount paths: give the handler's basePath. Every other path goes on to \`next\`.
app.use(adminMiddleware(admin, { basePath: '/admin' }))
app.listen(Number(process.env.PORT ?? 8080), '127.0.0.1')
// Console: http://127.0.0.1:8080/admin/
`
