/**
 * The paths of the admin API's OpenAPI document: one entry per route of the route table.
 * @module
 */
import { KEY_LIST_PARAMETERS } from './_openapi-insight.js'
import { asset, groupId, jsonBody, jsonOk, keyId, noStore, op, page, ref, type Json } from './_openapi-schemas.js'

const tenantQuery = (name: string, description: string): Json => ({ name, in: 'query', required: false, schema: { type: 'string' }, description })

/** Every path of the document, relative to the server URL (`basePath`). */
export const PATHS: Record<string, Json> = {
  '/': { get: asset('getConsole', 'The web console (HTML).', 'text/html') },
  '/console.js': { get: asset('getConsoleScript', 'The console\'s script.', 'text/javascript') },
  '/console.css': { get: asset('getConsoleStyles', 'The console\'s stylesheet.', 'text/css') },
  '/openapi.json': {
    get: { operationId: 'getOpenApi', summary: 'This document.', tags: ['console'], security: [], responses: { 200: jsonOk('OpenAPI 3.1 document.', { type: 'object' }) } },
  },
  '/api/me': { get: op('getSession', 'The calling admin key: id, kind, tenant, permissions; and the role names.', 'session', { 200: jsonOk('The session.', ref('Session')) }, []) },
  '/api/groups': {
    get: op('listGroups', 'Groups of the caller\'s tenant, one page.', 'groups', { 200: jsonOk('Groups, oldest first.', ref('GroupList')) }, ['400'], { parameters: page(200) }),
    post: op('createGroup', 'Create a group in the caller\'s tenant.', 'groups', { 201: jsonOk('The group.', ref('Group'), { Location: { schema: { type: 'string' } } }) }, ['400', '413', '415'], {
      requestBody: jsonBody('CreateGroup', { name: 'Integrations', description: 'CI and partner integrations' }),
    }),
  },
  '/api/groups/{groupId}': {
    parameters: [groupId],
    get: op('getGroup', 'One group.', 'groups', { 200: jsonOk('The group.', ref('Group')) }, ['404']),
    patch: op('updateGroup', 'Edit a group (org administrators only).', 'groups', { 200: jsonOk('The group.', ref('Group')) }, ['400', '404', '413', '415'], {
      requestBody: jsonBody('UpdateGroup', { name: 'Partners', allowedIps: ['198.51.100.0/24'] }),
    }),
    delete: op('deleteGroup', 'Delete an empty group.', 'groups', { 204: { description: 'Deleted.' } }, ['404', '409', '415']),
  },
  '/api/groups/{groupId}/activate': {
    parameters: [groupId],
    post: op('activateGroup', 'Activate a group (org administrators only).', 'groups', { 200: jsonOk('The group.', ref('Group')) }, ['404', '415']),
  },
  '/api/groups/{groupId}/deactivate': {
    parameters: [groupId],
    post: op('deactivateGroup', 'Deactivate a group: every key in it is refused (org administrators only).', 'groups', { 200: jsonOk('The group.', ref('Group')) }, ['404', '415']),
  },
  '/api/keys': {
    get: op('listKeys', 'Keys of the caller\'s tenant, filtered, sorted, one page.', 'keys', { 200: jsonOk('Keys in the `sort` order (then by id).', ref('KeyList')) }, ['400'], {
      parameters: [...KEY_LIST_PARAMETERS],
    }),
    post: op('createKey', 'Issue a key in the caller\'s tenant. The plaintext is in this response only.', 'keys', {
      201: jsonOk('The new key and its record.', ref('IssuedKey'), { ...noStore, Location: { schema: { type: 'string' } } }),
    }, ['400', '413', '415'], {
      requestBody: jsonBody('CreateKey', { kind: 'user', owner: 'ana@example.test', role: 'Read Only', description: 'CI pipeline', allowedIps: ['203.0.113.0/24'] }),
    }),
  },
  '/api/keys/{keyId}': {
    parameters: [keyId],
    get: op('getKey', 'One key (never its secret).', 'keys', { 200: jsonOk('The key.', ref('Key')) }, ['404']),
    patch: op('updateKey', 'Edit a key: description, role, scopes, expiry, group, grants, addresses…', 'keys', { 200: jsonOk('The key.', ref('Key')) }, ['400', '404', '413', '415'], {
      requestBody: jsonBody('UpdateKey', { description: 'CI pipeline (read only)', role: 'Read Write' }),
    }),
    delete: op('deleteKey', 'Delete a key; it is refused at once.', 'keys', { 204: { description: 'Deleted.' } }, ['404', '415']),
  },
  '/api/keys/{keyId}/activate': { parameters: [keyId], post: op('activateKey', 'Activate a key.', 'keys', { 200: jsonOk('The key.', ref('Key')) }, ['404', '415']) },
  '/api/keys/{keyId}/deactivate': { parameters: [keyId], post: op('deactivateKey', 'Deactivate a key.', 'keys', { 200: jsonOk('The key.', ref('Key')) }, ['404', '415']) },
  '/api/keys/{keyId}/rotate': {
    parameters: [keyId],
    post: op('rotateKey', 'Replace the key\'s secret; the old one keeps working for `graceMs`. The new plaintext is in this response only.', 'keys', {
      200: jsonOk('The new key and its record.', ref('IssuedKey'), noStore),
    }, ['400', '404', '413', '415'], { requestBody: jsonBody('Rotate', { graceMs: 3600000 }) }),
  },
  '/api/keys/{keyId}/grants/add': {
    parameters: [keyId],
    post: op('addGrants', 'Grant operations.', 'keys', { 200: jsonOk('The key.', ref('Key')) }, ['400', '404', '413', '415'], { requestBody: jsonBody('Operations', { operations: ['getProjects'] }) }),
  },
  '/api/keys/{keyId}/grants/remove': {
    parameters: [keyId],
    post: op('removeGrants', 'Revoke granted operations.', 'keys', { 200: jsonOk('The key.', ref('Key')) }, ['400', '404', '413', '415'], { requestBody: jsonBody('Operations', { operations: ['getProjects'] }) }),
  },
  '/api/keys/{keyId}/allowed-ips/add': {
    parameters: [keyId],
    post: op('addAllowedIps', 'Add allowed client addresses.', 'keys', { 200: jsonOk('The key.', ref('Key')) }, ['400', '404', '413', '415'], { requestBody: jsonBody('Entries', { entries: ['198.51.100.7'] }) }),
  },
  '/api/keys/{keyId}/allowed-ips/remove': {
    parameters: [keyId],
    post: op('removeAllowedIps', 'Remove allowed client addresses (removing the last leaves an empty list, which admits none).', 'keys', {
      200: jsonOk('The key.', ref('Key')),
    }, ['400', '404', '413', '415'], { requestBody: jsonBody('Entries', { entries: ['198.51.100.7'] }) }),
  },
  '/api/keys/{keyId}/usage': {
    parameters: [keyId],
    get: op('getKeyUsage', 'Decisions about the key per hour (24h) or UTC day (30d), by outcome.', 'keys', { 200: jsonOk('The series.', ref('Usage')) }, ['400', '404'], {
      parameters: [{ name: 'window', in: 'query', required: false, schema: { type: 'string', enum: ['24h', '30d'], default: '24h' } }],
    }),
  },
  '/api/audit': {
    get: op('listAudit', 'The audit trail of the caller\'s tenant, newest first: changes, refused and failed calls, leak reports.', 'audit', { 200: jsonOk('One page.', ref('AuditList')) }, ['400'], {
      parameters: [tenantQuery('key', 'Only entries about this key or group id.'), ...page(200)],
    }),
  },
}
