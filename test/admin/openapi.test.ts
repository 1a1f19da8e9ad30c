import { describe, expect, it } from 'vitest'
import { ADMIN_ROUTES } from '../../src/admin/_routes.js'
import { GROUP_VIEW_FIELDS, KEY_VIEW_FIELDS } from '../../src/admin/_serialize.js'
import { adminOpenApi } from '../../src/admin/index.js'
import { fixture, type Fixture, type GroupView, type Issued } from './_fixture.js'

interface Schema {
  $ref?: string
  type?: string | string[]
  required?: string[]
  properties?: Record<string, Schema>
  additionalProperties?: boolean
}
interface Operation {
  operationId: string
  requestBody?: { required: boolean; content: Record<string, { schema: Schema; example: Record<string, unknown> }> }
  responses: Record<string, unknown>
}
interface Doc {
  openapi: string
  servers: { url: string }[]
  paths: Record<string, Record<string, Operation | unknown[]>>
  components: { schemas: Record<string, Schema>; securitySchemes: Record<string, unknown> }
}

const METHODS = new Set(['get', 'post', 'patch', 'delete', 'put', 'head', 'options', 'trace'])

function operations(doc: Doc): { method: string; path: string; op: Operation }[] {
  const out: { method: string; path: string; op: Operation }[] = []
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) if (METHODS.has(method)) out.push({ method: method.toUpperCase(), path, op: op as Operation })
  }
  return out
}

function resolve(doc: Doc, schema: Schema): Schema {
  if (schema.$ref === undefined) return schema
  const name = schema.$ref.replace('#/components/schemas/', '')
  const found = doc.components.schemas[name]
  if (!found) throw new Error(`dangling $ref ${schema.$ref}`)
  return found
}

async function served(f: Fixture): Promise<Doc> {
  const r = await f.call(null, 'GET', '/admin/openapi.json')
  expect(r.status).toBe(200)
  return r.json<Doc>()
}

/** Fills the `{keyId}`/`{groupId}` of a path with fresh objects of the caller's tenant. */
async function concrete(f: Fixture, path: string): Promise<string> {
  let p = path
  if (p.includes('{keyId}')) {
    const { record } = (await f.call(f.acme, 'POST', '/admin/api/keys', { kind: 'user', owner: 'o', role: 'Read Only', grants: ['getProjects'], allowedIps: ['198.51.100.7', '127.0.0.1'] })).json<Issued>()
    p = p.replace('{keyId}', record.id)
  }
  if (p.includes('{groupId}')) {
    const g = (await f.call(f.acme, 'POST', '/admin/api/groups', { name: 'g' })).json<GroupView>()
    p = p.replace('{groupId}', g.id)
  }
  return `/admin${p}`
}

describe('the served OpenAPI document matches the handler', () => {
  it('is OpenAPI 3.1 with the base path as its server', async () => {
    const doc = await served(await fixture())
    expect(doc.openapi).toBe('3.1.0')
    expect(doc.servers).toEqual([{ url: '/admin' }])
    expect(doc.components.securitySchemes.adminKey).toEqual({ type: 'apiKey', in: 'header', name: 'x-api-key' })
  })

  it('documents exactly the routes of the route table, in both directions, with the same operationIds', async () => {
    const doc = await served(await fixture())
    const documented = operations(doc).map((o) => `${o.method} ${o.path} ${o.op.operationId}`).sort()
    const handled = ADMIN_ROUTES.map((r) => `${r.method} ${r.path} ${r.operationId}`).sort()
    expect(documented).toEqual(handled)
  })

  it('documents a request body exactly where the handler reads one, with the same fields and required fields', async () => {
    const doc = await served(await fixture())
    for (const route of ADMIN_ROUTES) {
      const op = doc.paths[route.path]![route.method.toLowerCase()] as Operation
      const content = op.requestBody?.content['application/json']
      if (!route.body) {
        expect(op.requestBody, `${route.operationId} has no body`).toBeUndefined()
        continue
      }
      expect(content, `${route.operationId} documents its body`).toBeDefined()
      const schema = resolve(doc, content!.schema)
      expect(Object.keys(schema.properties ?? {}).sort(), route.operationId).toEqual([...route.body.fields].sort())
      expect([...(schema.required ?? [])].sort(), route.operationId).toEqual([...route.body.required].sort())
      expect(schema.additionalProperties, route.operationId).toBe(false)
    }
  })

  it('documents every field the handler shows of keys and groups', async () => {
    const doc = await served(await fixture())
    expect(Object.keys(doc.components.schemas.Key!.properties!).sort()).toEqual([...KEY_VIEW_FIELDS].sort())
    expect(Object.keys(doc.components.schemas.Group!.properties!).sort()).toEqual([...GROUP_VIEW_FIELDS].sort())
  })

  it('resolves every $ref', async () => {
    const doc = await served(await fixture())
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"([^"]+)"/g)].map((m) => m[1]!)
    expect(refs.length).toBeGreaterThan(10)
    for (const r of refs) expect(() => resolve(doc, { $ref: r }), r).not.toThrow()
  })
})

describe('the documented refusals are what the handler answers', () => {
  const writes = ADMIN_ROUTES.filter((r) => r.kind === 'api' && r.method !== 'GET')

  it.each(writes.map((r) => [r.operationId, r] as const))('%s: documents 415 and answers it to a text/plain body', async (_id, route) => {
    const f = await fixture()
    const op = (await served(f)).paths[route.path]![route.method.toLowerCase()] as Operation
    expect(Object.keys(op.responses)).toContain('415')
    const r = await f.call(f.acme, route.method, await concrete(f, route.path), undefined, { raw: '{}', contentType: 'text/plain' })
    expect(r.status).toBe(415)
  })

  it.each(ADMIN_ROUTES.filter((r) => r.kind === 'api').map((r) => [r.operationId, r] as const))('%s: documents 403 and answers it cross-site', async (_id, route) => {
    const f = await fixture()
    const op = (await served(f)).paths[route.path]![route.method.toLowerCase()] as Operation
    expect(Object.keys(op.responses)).toContain('403')
    const r = await f.call(f.acme, route.method, await concrete(f, route.path), undefined, { headers: { 'sec-fetch-site': 'cross-site' } })
    expect(r.status).toBe(403)
    expect(r.json().code).toBe('cross_site_request')
  })
})

describe('the documented request bodies are what the handler validates', () => {
  const bodyRoutes = ADMIN_ROUTES.filter((r) => r.body !== undefined)

  it.each(bodyRoutes.map((r) => [r.operationId, r] as const))('%s: the documented example is accepted', async (_id, route) => {
    const f = await fixture()
    const doc = await served(f)
    const op = doc.paths[route.path]![route.method.toLowerCase()] as Operation
    const example = op.requestBody!.content['application/json']!.example
    const r = await f.call(f.acme, route.method, await concrete(f, route.path), example)
    expect(r.status, r.text).toBeLessThan(300)
    const documented = Object.keys(op.responses).filter((s) => s.startsWith('2'))
    expect(documented).toContain(String(r.status))
  })

  it.each(bodyRoutes.map((r) => [r.operationId, r] as const))('%s: each documented required field is refused when missing, by name', async (_id, route) => {
    const f = await fixture()
    const doc = await served(f)
    const op = doc.paths[route.path]![route.method.toLowerCase()] as Operation
    const { schema, example } = op.requestBody!.content['application/json']!
    for (const field of resolve(doc, schema).required ?? []) {
      const body = { ...example }
      delete body[field]
      const r = await f.call(f.acme, route.method, await concrete(f, route.path), body)
      expect(r.status, `${route.operationId} without ${field}`).toBe(400)
      expect(r.json().field).toBe(field)
    }
  })

  it.each(bodyRoutes.map((r) => [r.operationId, r] as const))('%s: an undocumented field is refused', async (_id, route) => {
    const f = await fixture()
    const doc = await served(f)
    const op = doc.paths[route.path]![route.method.toLowerCase()] as Operation
    const example = op.requestBody!.content['application/json']!.example
    const r = await f.call(f.acme, route.method, await concrete(f, route.path), { ...example, undocumented: true })
    expect(r.status).toBe(400)
    expect(r.json()).toMatchObject({ field: 'body', detail: 'body: unknown field "undocumented"' })
  })
})

describe('adminOpenApi', () => {
  it('describes the configured scheme and returns a fresh copy each time', () => {
    const a = adminOpenApi({ basePath: '/k', auth: { header: 'authorization', format: 'bearer' }, permission: 'keys:administer' }) as unknown as Doc & { info: { description: string } }
    expect(a.servers).toEqual([{ url: '/k' }])
    expect(a.components.securitySchemes.adminKey).toEqual({ type: 'http', scheme: 'bearer' })
    expect(a.info.description).toContain('keys:administer')
    a.paths = {}
    expect(Object.keys((adminOpenApi() as unknown as Doc).paths).length).toBe(new Set(ADMIN_ROUTES.map((r) => r.path)).size)
  })
})
