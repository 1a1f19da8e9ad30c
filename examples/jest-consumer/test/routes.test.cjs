const request = require('supertest')
const { createTestAuthority } = require('keyward/testing')
const { buildApp } = require('../app.cjs')

let kit
let app
beforeEach(() => {
  kit = createTestAuthority()
  app = buildApp(kit.authorizer)
})
afterEach(() => kit.close())

test('a Read Only key lists scans', async () => {
  const key = await kit.issue({ owner: 'ana@acme.test', role: 'Read Only' })
  const res = await request(app).get('/scans').set(kit.headersFor(key))
  expect(res.status).toBe(200)
  expect(res.body).toEqual({ scans: [], owner: 'ana@acme.test' })
})

test('a Read Only key cannot start a scan', async () => {
  const key = await kit.issue({ role: 'Read Only' })
  const res = await request(app).post('/scans').set(kit.headersFor(key))
  expect(res.status).toBe(403)
  expect(kit.lastDecision()).toMatchObject({ reason: 'insufficient_permission', detail: 'scans:manage' })
})

test('a key used from outside its allowlist is denied for ip_not_allowed', async () => {
  const key = await kit.issue({ role: 'Read Write', allowedIps: ['203.0.113.0/24'] })
  await request(app).get('/scans').set(kit.headersFor(key)).expect(403)
  expect(kit.lastDecision().reason).toBe('ip_not_allowed')
})

test('a key stops working when the clock passes its expiry', async () => {
  const key = await kit.issue({ role: 'Read Only', expiresAt: kit.clock.now() + 60_000 })
  await request(app).get('/scans').set(kit.headersFor(key)).expect(200)
  kit.clock.advance(60_000)
  await request(app).get('/scans').set(kit.headersFor(key)).expect(401)
  expect(kit.decisions().map((e) => e.reason)).toEqual([undefined, 'key_expired'])
})

test('a token minted by the kit is accepted (jose, through Jest)', async () => {
  const key = await kit.issue({ role: 'Read Only' })
  await request(app).get('/scans').set(await kit.headersFor(key, 'jwt')).expect(200)
  expect(kit.lastDecision().scheme).toBe('jwt')
})
