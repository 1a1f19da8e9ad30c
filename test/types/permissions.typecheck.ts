/**
 * Type-level test of typed permissions. Never run, only type-checked: `typecheck.test.ts` checks
 * it against the built declarations, and every `@ts-expect-error` line must really be an error
 * (an unused one is reported), so a misspelt permission is proven not to compile. It imports
 * keyward by package name, as a user does (`tsconfig.json` maps the names to the sources).
 */
import { Hono } from 'hono'
import { guard as expressGuard } from 'keyward/express'
import { guard as fastifyGuard } from 'keyward/fastify'
import { guard as honoGuard } from 'keyward/hono'
import { guard as koaGuard } from 'keyward/koa'
import { createAuthorizer, defineRoles, insightAppSecRoles, MemoryKeyStore, type Need, type Roles, type RolesDefinition } from 'keyward'

const store = new MemoryKeyStore()
const request = { method: 'GET', url: '/scans', headers: {} }
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
function assertTrue<T extends true>(): T | void {}

// ---- The preset, the default matrix: every guard, need() and authorize() --------------------------
{
  const authorizer = createAuthorizer({ store })
  authorizer.need('scans:read')
  authorizer.need({ permission: ['scans:manage', 'apps:read'], operation: 'listScans' })
  void authorizer.authorize(request, 'vulnerability-comments:administer')
  // @ts-expect-error misspelt level
  authorizer.need('scans:raed')
  // @ts-expect-error no such resource in the preset
  void authorizer.authorize(request, 'scan:read')
  // @ts-expect-error one of the listed permissions is misspelt
  authorizer.need({ permission: ['scans:read', 'apps:reed'] })

  const express = expressGuard(authorizer)
  express('scans:read')
  // @ts-expect-error requireKey('scans:raed') does not compile
  express('scans:raed')
  const koa = koaGuard(authorizer)
  koa({ permission: 'targets:manage' })
  // @ts-expect-error
  koa({ permission: 'target:manage' })
  const fastify = fastifyGuard(authorizer)
  fastify('files:read')
  // @ts-expect-error
  fastify('files:write')

  // principal.can(), on a decision and in a Hono route.
  void authorizer.authorize(request, 'scans:read').then((d) => {
    if (!d.allow) return
    d.principal.can('apps:manage')
    // @ts-expect-error misspelt
    d.principal.can('apps:mange')
  })
  const hono = honoGuard(authorizer)
  new Hono().get('/scans', hono('scans:read'), (c) => {
    c.get('principal').can('scans:manage')
    // @ts-expect-error misspelt
    c.get('principal').can('scans:raed')
    return c.text('ok')
  })
  // @ts-expect-error
  hono('scans:raed')
}

// ---- defineRoles infers its matrix: resources of its roles × its levels ---------------------------
{
  const roles = defineRoles({ levels: ['read', 'write'], roles: { viewer: ['reports:read'], editor: ['reports:write', 'users:read'] } })
  assertTrue<Equal<typeof roles, Roles<'reports:read' | 'reports:write' | 'users:read' | 'users:write'>>>()
  const authorizer = createAuthorizer({ store, roles })
  authorizer.need('users:write') // a level no role lists is still a permission of the matrix
  // @ts-expect-error a resource of the preset, not of this matrix
  authorizer.need('scans:read')
  expressGuard(authorizer)('reports:write')
  // @ts-expect-error
  expressGuard(authorizer)('reports:admin')
}

// ---- The preset's type is exactly its matrix --------------------------------------------------------
{
  type PresetPermission = typeof insightAppSecRoles extends Roles<infer P> ? P : never
  const inferred = defineRoles({ levels: ['read', 'manage', 'administer'], roles: { a: ['apps:read', 'global-blackouts:manage'] } })
  type Inferred = typeof inferred extends Roles<infer P> ? P : never
  assertTrue<Equal<Extract<PresetPermission, `apps:${string}` | `global-blackouts:${string}`>, Inferred>>()
  assertTrue<Equal<Extract<PresetPermission, 'scans:administer'>, 'scans:administer'>>()
}

// ---- Roles not known statically: any string, checked at run time ----------------------------------
{
  const definition: RolesDefinition = JSON.parse('{"levels":["read"],"roles":{"r":["docs:read"]}}') as RolesDefinition
  const roles = defineRoles(definition)
  assertTrue<Equal<typeof roles, Roles<string>>>()
  const fromConfig: string = process.env.NEED ?? 'docs:read'
  const authorizer = createAuthorizer({ store, roles })
  authorizer.need(fromConfig)
  expressGuard(authorizer)(fromConfig)
  honoGuard(authorizer)({ permission: [fromConfig] })
  // A typed matrix with a need only known at run time: say so with <string>.
  const loose = createAuthorizer<string>({ store })
  const need: Need = fromConfig
  loose.need(need)
  koaGuard(loose)(need)
  // @ts-expect-error still not a number
  loose.need(42)
}
