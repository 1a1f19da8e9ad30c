import request from 'supertest'
import { createTestAuthority } from 'keyward/testing'
import app from '../app.cjs'

const { buildApp } = app

let kit
let server
beforeEach(() => {
  kit = createTestAuthority()
  server = buildApp(kit.authorizer)
})
afterEach(() => kit.close())

test('a Read Only key lists scans', async () => {
  const key = await kit.issue({ owner: 'ana@acme.test', role: 'Read Only' })
  const res = await request(server).get('/scans').set(kit.headersFor(key))
  expect(res.status).toBe(200)
  expect(res.body).toEqual({ scans: [], owner: 'ana@acme.test' })
})

test('a Read Only key cannot start a scan', async () => {
  const key = await kit.issue({ role: 'Read Only' })
  await request(server).post('/scans').set(kit.headersFor(key)).expect(403)
  expect(kit.lastDecision()).toMatchObject({ reason: 'insufficient_permission', detail: 'scans:manage' })
})

test('a token minted by the kit is accepted (jose, natively)', async () => {
  const key = await kit.issue({ role: 'Read Only' })
  await request(server).get('/scans').set(await kit.headersFor(key, 'jwt')).expect(200)
  expect(kit.lastDecision().scheme).toBe('jwt')
})
