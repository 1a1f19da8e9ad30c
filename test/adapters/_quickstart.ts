/**
 * The README's quick-start programs, verbatim (the README's code blocks are these strings).
 * `quickstart.test.ts` type-checks and runs them in a scratch project that imports `keyward` by
 * its package name, as a new user's project would.
 */

export const EXPRESS = `import express from 'express'
import { createAuthorizer, KeyManager, MemoryKeyStore } from 'keyward'
import { guard } from 'keyward/express'

// Keys live in a store; this one is in memory and keeps only hashes.
const store = new MemoryKeyStore()
const { key } = await new KeyManager(store).issue({ kind: 'user', owner: 'ana@example.com', role: 'Read Only' })

const requireKey = guard(createAuthorizer({ store }))

const app = express()
app.get('/scans', requireKey('scans:read'), (req, res) => {
  res.json({ scans: [], caller: req.principal?.owner })
})
app.post('/scans', requireKey('scans:manage'), (req, res) => {
  res.status(201).json({ id: 'scan-1', by: req.principal?.keyId })
})

const port = Number(process.env.PORT ?? 3000)
app.listen(port, '127.0.0.1', () => {
  console.log(\`New key (shown once): \${key}\`)
  console.log(\`curl -H "X-Api-Key: \${key}" http://127.0.0.1:\${port}/scans\`)
})
`

export const KOA = `import Koa from 'koa'
import { createAuthorizer, KeyManager, MemoryKeyStore } from 'keyward'
import { guard, type KeywardState } from 'keyward/koa'

const store = new MemoryKeyStore()
const { key } = await new KeyManager(store).issue({ kind: 'user', owner: 'ana@example.com', role: 'Read Only' })

const requireKey = guard(createAuthorizer({ store }))
const canRead = requireKey('scans:read')
const canStart = requireKey('scans:manage')

const app = new Koa<KeywardState>()
// Plain Koa has no router; with @koa/router: router.post('/scans', canStart, handler)
app.use((ctx, next) => (ctx.method === 'POST' ? canStart(ctx, next) : canRead(ctx, next)))
app.use((ctx) => {
  ctx.body = { scans: [], caller: ctx.state.principal.owner }
})

const port = Number(process.env.PORT ?? 3000)
app.listen(port, '127.0.0.1', () => {
  console.log(\`New key (shown once): \${key}\`)
  console.log(\`curl -H "X-Api-Key: \${key}" http://127.0.0.1:\${port}/scans\`)
})
`

export const HONO = `import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { createAuthorizer, KeyManager, MemoryKeyStore } from 'keyward'
import { guard } from 'keyward/hono'

const store = new MemoryKeyStore()
const { key } = await new KeyManager(store).issue({ kind: 'user', owner: 'ana@example.com', role: 'Read Only' })

const requireKey = guard(createAuthorizer({ store }))

const app = new Hono()
app.get('/scans', requireKey('scans:read'), (c) => c.json({ scans: [], caller: c.get('principal').owner }))
app.post('/scans', requireKey('scans:manage'), (c) => c.json({ id: 'scan-1', by: c.get('principal').keyId }, 201))

const port = Number(process.env.PORT ?? 3000)
serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }, () => {
  console.log(\`New key (shown once): \${key}\`)
  console.log(\`curl -H "X-Api-Key: \${key}" http://127.0.0.1:\${port}/scans\`)
})
`

export const FASTIFY = `import Fastify from 'fastify'
import { createAuthorizer, KeyManager, MemoryKeyStore } from 'keyward'
import { keywardPlugin } from 'keyward/fastify'

const store = new MemoryKeyStore()
const { key } = await new KeyManager(store).issue({ kind: 'user', owner: 'ana@example.com', role: 'Read Only' })

const app = Fastify()
// Declares request.principal and adds app.requireKey; fastify-plugin keeps it app-wide.
await app.register(keywardPlugin, { authorizer: createAuthorizer({ store }) })

app.get('/scans', { onRequest: app.requireKey('scans:read') }, async (request) => ({ scans: [], caller: request.principal?.owner }))
// Or name the need in the route's config: the plugin's hook reads it.
app.post('/scans', { config: { keyward: 'scans:manage' } }, async (request, reply) =>
  reply.code(201).send({ id: 'scan-1', by: request.principal?.keyId }),
)

const port = Number(process.env.PORT ?? 3000)
await app.listen({ port, host: '127.0.0.1' })
console.log(\`New key (shown once): \${key}\`)
console.log(\`curl -H "X-Api-Key: \${key}" http://127.0.0.1:\${port}/scans\`)
`
