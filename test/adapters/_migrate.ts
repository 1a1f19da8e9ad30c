/**
 * The migration guides' before/after programs, verbatim (docs/migrate-*.md hold these strings).
 * `migrate.test.ts` type-checks and runs each in a scratch project that imports `keyward` by its
 * package name, and checks that before and after answer the same key alike.
 */

export const PASSPORT_BEFORE = `import express from 'express'
import passport from 'passport'
import { HeaderAPIKeyStrategy } from 'passport-headerapikey'

// The keys, in plaintext, and who they belong to.
const keys = new Map([[process.env.API_KEY ?? 'change-me', { owner: 'ana@example.com' }]])

passport.use(
  new HeaderAPIKeyStrategy({ header: 'X-Api-Key', prefix: '' }, false, (apiKey, done) => {
    done(null, keys.get(apiKey) ?? false)
  }),
)

const app = express()
app.use(passport.initialize())
app.get('/scans', passport.authenticate('headerapikey', { session: false }), (req, res) => {
  res.json({ scans: [], caller: (req.user as { owner: string }).owner })
})

const port = Number(process.env.PORT ?? 3000)
app.listen(port, '127.0.0.1', () => console.log(\`Listening on http://127.0.0.1:\${port}/scans\`))
`

export const PASSPORT_AFTER = `import express from 'express'
import { createAuthorizer, KeyManager, MemoryKeyStore } from 'keyward'
import { guard } from 'keyward/express'

// The same keys keep working: import each once; only its hash is stored.
const store = new MemoryKeyStore()
await new KeyManager(store).import({ key: process.env.API_KEY ?? 'change-me', kind: 'user', owner: 'ana@example.com', role: 'Read Only' })

const requireKey = guard(createAuthorizer({ store }))

const app = express()
app.get('/scans', requireKey('scans:read'), (req, res) => {
  res.json({ scans: [], caller: req.principal?.owner })
})

const port = Number(process.env.PORT ?? 3000)
app.listen(port, '127.0.0.1', () => console.log(\`Listening on http://127.0.0.1:\${port}/scans\`))
`

export const HONO_BEFORE = `import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { bearerAuth } from 'hono/bearer-auth'

const app = new Hono()
// The token, in plaintext, in the configuration.
app.use('/scans', bearerAuth({ token: process.env.API_KEY ?? 'change-me' }))
app.get('/scans', (c) => c.json({ scans: [], caller: 'ana@example.com' }))

const port = Number(process.env.PORT ?? 3000)
serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }, () => console.log(\`Listening on http://127.0.0.1:\${port}/scans\`))
`

export const HONO_AFTER = `import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { createAuthorizer, KeyManager, MemoryKeyStore, schemes } from 'keyward'
import { guard } from 'keyward/hono'

// The same token keeps working: import it once; only its hash is stored.
const store = new MemoryKeyStore()
await new KeyManager(store).import({ key: process.env.API_KEY ?? 'change-me', kind: 'user', owner: 'ana@example.com', role: 'Read Only' })

// Clients keep sending \`Authorization: Bearer <token>\`.
const requireKey = guard(createAuthorizer({ store, schemes: [schemes.bearer()] }))

const app = new Hono()
app.get('/scans', requireKey('scans:read'), (c) => c.json({ scans: [], caller: c.get('principal').owner }))

const port = Number(process.env.PORT ?? 3000)
serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }, () => console.log(\`Listening on http://127.0.0.1:\${port}/scans\`))
`
