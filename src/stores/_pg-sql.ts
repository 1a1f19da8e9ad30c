/**
 * SQL of the Postgres store: the migration and every statement, built once per schema.
 *
 * Only identifiers are interpolated here, and only the schema name, which is validated against
 * a strict pattern and double-quoted; every value goes through a `$n` parameter.
 * @module
 */
import { rangeError, typeError } from '../errors.js'

/** The schema version this code writes and reads. */
export const SCHEMA_VERSION = 2

const IDENT = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/

/** Validates a schema name and returns it double-quoted. */
export function quoteSchema(schema: unknown, field = 'schema'): string {
  if (typeof schema !== 'string') throw typeError(field, 'must be a string')
  if (!IDENT.test(schema)) throw rangeError(field, 'must be 1-63 characters of A-Z, a-z, 0-9 and _, not starting with a digit')
  return `"${schema}"`
}

/** Columns of `keyward_keys`, in the order every statement uses. */
export const KEY_COLUMNS = [
  'id',
  'hash',
  'kind',
  'tenant',
  'group_id',
  'owner',
  'role',
  'scopes',
  'grants',
  'allowed_ips',
  'active',
  'expires_at',
  'rate_limit',
  'description',
  'metadata',
  'created_at',
  'updated_at',
  'last_used_at',
  'previous_hash',
  'previous_expires_at',
  'credits_remaining',
  'credits_refill',
  'credits_refilled_at',
  'credits_version',
  'start',
] as const

/**
 * The live credit balance: changed by every allowed request of a usage-limited key, so left out
 * of the version a compare-and-swap compares, and written by an edit only when the edit sets
 * new credits (a new `credits_version`).
 */
const BALANCE_COLUMNS: ReadonlySet<string> = new Set(['credits_remaining', 'credits_refilled_at'])

/** The columns an update writes: all but `last_used_at`, which only `touch` advances. */
export const EDIT_COLUMNS = KEY_COLUMNS.filter((c) => c !== 'last_used_at')

/** SQL types of the key columns, for explicit parameter casts. */
const KEY_TYPES: Record<(typeof KEY_COLUMNS)[number], string> = {
  id: 'text',
  hash: 'text',
  kind: 'text',
  tenant: 'text',
  group_id: 'text',
  owner: 'text',
  role: 'text',
  scopes: 'text[]',
  grants: 'text[]',
  allowed_ips: 'text[]',
  active: 'boolean',
  expires_at: 'bigint',
  rate_limit: 'jsonb',
  description: 'text',
  metadata: 'jsonb',
  created_at: 'bigint',
  updated_at: 'bigint',
  last_used_at: 'bigint',
  previous_hash: 'text',
  previous_expires_at: 'bigint',
  credits_remaining: 'bigint',
  credits_refill: 'jsonb',
  credits_refilled_at: 'bigint',
  credits_version: 'bigint',
  start: 'text',
}

/** Columns of `keyward_groups`, in the order every statement uses. */
export const GROUP_COLUMNS = ['id', 'name', 'description', 'tenant', 'active', 'allowed_ips', 'created_at', 'updated_at'] as const

/**
 * The migration to schema version 1, as one script. Idempotent: every object is created with
 * `IF NOT EXISTS`, so running it again (or on several instances at once, under the advisory lock
 * `migrate()` takes) changes nothing.
 */
export function migrationSql(schema: string, createSchema: boolean): string {
  const s = schema
  return `${createSchema ? `CREATE SCHEMA IF NOT EXISTS ${s};\n\n` : ''}CREATE TABLE IF NOT EXISTS ${s}.keyward_migrations (
  version    integer PRIMARY KEY,
  applied_at timestamptz NOT NULL DEFAULT now()
);

-- Key groups (Ivanti key groups). Times are epoch milliseconds.
CREATE TABLE IF NOT EXISTS ${s}.keyward_groups (
  id          text PRIMARY KEY,
  name        text NOT NULL,
  description text,
  tenant      text,
  active      boolean NOT NULL,
  allowed_ips text[],
  created_at  bigint NOT NULL,
  updated_at  bigint
);
CREATE INDEX IF NOT EXISTS keyward_groups_tenant_idx ON ${s}.keyward_groups (tenant);

-- API keys: hashes only, never a key. group_id has no foreign key on purpose: a key whose group
-- is missing is denied (group_disabled) by the authorizer, as with the in-memory store.
CREATE TABLE IF NOT EXISTS ${s}.keyward_keys (
  id                  text PRIMARY KEY,
  hash                text NOT NULL,
  kind                text NOT NULL CHECK (kind IN ('user', 'org', 'tenant')),
  tenant              text,
  group_id            text,
  owner               text,
  role                text,
  scopes              text[],
  grants              text[],
  allowed_ips         text[],
  active              boolean NOT NULL,
  expires_at          bigint,
  rate_limit          jsonb,
  description         text,
  metadata            jsonb,
  created_at          bigint NOT NULL,
  updated_at          bigint,
  last_used_at        bigint,
  previous_hash       text,
  previous_expires_at bigint
);
CREATE UNIQUE INDEX IF NOT EXISTS keyward_keys_hash_key ON ${s}.keyward_keys (hash);
CREATE UNIQUE INDEX IF NOT EXISTS keyward_keys_previous_hash_key ON ${s}.keyward_keys (previous_hash) WHERE previous_hash IS NOT NULL;
CREATE INDEX IF NOT EXISTS keyward_keys_tenant_idx ON ${s}.keyward_keys (tenant);
CREATE INDEX IF NOT EXISTS keyward_keys_group_idx ON ${s}.keyward_keys (group_id);
CREATE INDEX IF NOT EXISTS keyward_keys_owner_idx ON ${s}.keyward_keys (owner);

-- Every hash in use (current and previous), one row each: its primary key makes a hash unique
-- across both columns of keyward_keys, which two per-column unique indexes cannot.
CREATE TABLE IF NOT EXISTS ${s}.keyward_key_hashes (
  hash   text PRIMARY KEY,
  key_id text NOT NULL REFERENCES ${s}.keyward_keys (id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS keyward_key_hashes_key_idx ON ${s}.keyward_key_hashes (key_id);

-- Owner directory (optional): the owner's current role and whether they are active.
CREATE TABLE IF NOT EXISTS ${s}.keyward_owners (
  id         text PRIMARY KEY,
  role       text,
  active     boolean NOT NULL,
  updated_at bigint
);

INSERT INTO ${s}.keyward_migrations (version) VALUES (1) ON CONFLICT (version) DO NOTHING;

${versionTwoSql(s)}`
}

/**
 * Version 2, added to a version-1 database: the credit columns and the key start. Idempotent
 * (`ADD COLUMN IF NOT EXISTS`), so a database that ran an earlier version-2 script gets what it
 * lacks.
 */
function versionTwoSql(s: string): string {
  return `-- Version 2: usage-limited keys. credits_remaining NULL: unlimited. credits_refill is
-- {"amount": n, "interval": "day" | "month" | ms}; credits_refilled_at starts the current interval.
ALTER TABLE ${s}.keyward_keys ADD COLUMN IF NOT EXISTS credits_remaining bigint CHECK (credits_remaining >= 0);
ALTER TABLE ${s}.keyward_keys ADD COLUMN IF NOT EXISTS credits_refill jsonb;
ALTER TABLE ${s}.keyward_keys ADD COLUMN IF NOT EXISTS credits_refilled_at bigint;
ALTER TABLE ${s}.keyward_keys ADD COLUMN IF NOT EXISTS credits_version bigint;
-- The key's short, non-secret start (kw_live_3kTM), set at issue and rotation, for finding a
-- key from a pasted prefix. NULL for rows written without one.
ALTER TABLE ${s}.keyward_keys ADD COLUMN IF NOT EXISTS start text;

INSERT INTO ${s}.keyward_migrations (version) VALUES (2) ON CONFLICT (version) DO NOTHING;
`
}

/** Every statement of the store, for one schema. */
export interface Statements {
  readonly findByHash: string
  readonly getKey: string
  readonly insertKey: string
  readonly updateKey: string
  readonly updateKeyIf: string
  readonly revokeKey: string
  readonly consumeCredits: string
  readonly deleteKey: string
  readonly listKeys: (where: readonly string[]) => string
  readonly touch: string
  readonly getGroup: string
  readonly insertGroup: string
  readonly updateGroup: string
  readonly updateGroupIf: string
  readonly revokeGroup: string
  readonly narrowGroupIps: string
  readonly groupVersion: string
  readonly deleteGroup: string
  readonly listGroups: (byTenant: boolean) => string
  readonly findOwner: string
  readonly putOwner: string
  readonly deleteOwner: string
  readonly schemaVersion: string
}

/**
 * The version of a row, computed by the database from every column but id and last_used_at
 * (which `touch` changes behind every writer's back): the compare-and-swap compares it with the
 * version read, never the record as JavaScript re-serialises it, so a row holding what a
 * JavaScript value cannot (a jsonb number beyond double precision, a NULL inside a text array)
 * can still be edited.
 */
function version(t: string, c: readonly string[]): string {
  return `md5(ROW(${c.map((x) => `${t}.${x}`).join(', ')})::text)`
}
const KEY_VERSION = version('k', KEY_COLUMNS.filter((c) => c !== 'id' && c !== 'last_used_at' && !BALANCE_COLUMNS.has(c)))
const GROUP_VERSION = version('g', GROUP_COLUMNS.filter((c) => c !== 'id'))
const K_COLUMNS = KEY_COLUMNS.map((c) => `k.${c}`).join(', ')
const G_COLUMNS = GROUP_COLUMNS.map((c) => `g.${c}`).join(', ')

/**
 * An edit of a key row (`cas`: only if its version is still the one read). last_used_at is never
 * written by an edit (only `touch` advances it): the parameters of an update are EDIT_COLUMNS,
 * then the hashes ($m+1), then the version read ($m+2).
 */
function updateKeySql(K: string, H: string, cas: boolean): string {
  const m = EDIT_COLUMNS.length
  const param = (c: (typeof EDIT_COLUMNS)[number]): string => `$${EDIT_COLUMNS.indexOf(c) + 1}::${KEY_TYPES[c]}`
  // The balance is written only by an edit that sets new credits (another credits_version).
  const set = EDIT_COLUMNS.filter((c) => c !== 'id')
    .map((c) => (BALANCE_COLUMNS.has(c) ? `${c} = CASE WHEN k.credits_version IS DISTINCT FROM ${param('credits_version')} THEN ${param(c)} ELSE k.${c} END` : `${c} = ${param(c)}`))
    .join(', ')
  const editHashes = `$${m + 1}::text[]`
  // One statement: the row and its hash index change together or not at all. Hashes the key
  // no longer has are deleted; new ones inserted, and one held by another key violates the
  // primary key of keyward_key_hashes (a conflict). The final SELECT tells "updated" from
  // "no such key" from "changed since read" (updateKeyIf: $n+2 is the version read).
  return `WITH u AS (
  UPDATE ${K} AS k SET ${set}
  WHERE k.id = $1${cas ? ` AND ${KEY_VERSION} = $${m + 2}::text` : ''}
  RETURNING k.id
), d AS (
  DELETE FROM ${H} WHERE key_id = $1 AND NOT (hash = ANY (${editHashes})) AND EXISTS (SELECT 1 FROM u)
), i AS (
  INSERT INTO ${H} (hash, key_id)
  SELECT DISTINCT h.hash, u.id FROM u CROSS JOIN unnest(${editHashes}) AS h(hash)
  WHERE NOT EXISTS (SELECT 1 FROM ${H} x WHERE x.hash = h.hash AND x.key_id = u.id)
)
SELECT (SELECT count(*) FROM u)::int AS updated, EXISTS (SELECT 1 FROM ${K} WHERE id = $1) AS present`
}

type KeyStatements = Pick<Statements, 'findByHash' | 'getKey' | 'insertKey' | 'updateKey' | 'updateKeyIf' | 'revokeKey' | 'consumeCredits' | 'deleteKey' | 'listKeys' | 'touch'>

/** The statements on keys and their hash index, for the (validated, quoted) schema `s`. */
function keyStatements(s: string): KeyStatements {
  const K = `${s}.keyward_keys`
  const H = `${s}.keyward_key_hashes`
  const cols = KEY_COLUMNS.join(', ')
  const n = KEY_COLUMNS.length
  const params = KEY_COLUMNS.map((c, i) => `$${i + 1}::${KEY_TYPES[c]}`).join(', ')
  // $n+1: the record's hashes (current and previous), kept in keyward_key_hashes.
  const hashes = `$${n + 1}::text[]`
  return {
    // Both columns are covered by unique indexes (the previous_hash one is partial; `= $1`
    // implies NOT NULL, so the planner uses it), and keyward_key_hashes keeps them disjoint:
    // at most one row matches.
    findByHash: `SELECT ${cols} FROM ${K} WHERE hash = $1 OR previous_hash = $1 LIMIT 1`,
    getKey: `SELECT ${K_COLUMNS}, ${KEY_VERSION} AS version FROM ${K} AS k WHERE k.id = $1`,
    insertKey: `WITH k AS (
  INSERT INTO ${K} (${cols}) VALUES (${params}) RETURNING id
)
INSERT INTO ${H} (hash, key_id) SELECT DISTINCT h.hash, k.id FROM k CROSS JOIN unnest(${hashes}) AS h(hash)`,
    updateKey: updateKeySql(K, H, false),
    updateKeyIf: updateKeySql(K, H, true),
    // A revoke in one statement, whatever else the row holds or whoever edits it meanwhile:
    // $2 deactivates, $3 ends a rotation's grace period at $4 (never extends it).
    revokeKey: `UPDATE ${K} AS k SET
  active = CASE WHEN $2::boolean THEN false ELSE k.active END,
  previous_expires_at = CASE WHEN $3::boolean AND k.previous_hash IS NOT NULL THEN least(coalesce(k.previous_expires_at, $4::bigint), $4::bigint) ELSE k.previous_expires_at END,
  updated_at = $4::bigint
WHERE k.id = $1::text
RETURNING ${K_COLUMNS}, ${KEY_VERSION} AS version`,
    consumeCredits: consumeSql(K),
    deleteKey: `DELETE FROM ${K} WHERE id = $1`,
    listKeys: (where) => `SELECT ${K_COLUMNS}, ${KEY_VERSION} AS version FROM ${K} AS k${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY k.created_at, k.id`,
    // One statement for a whole batch; never moves last_used_at backwards. Rows are locked in
    // one global order (by id) and a row another transaction holds (a revoke, another
    // instance's batch) is skipped, never waited for: batches cannot deadlock each other and
    // never hold up a revoke for longer than their own short statement.
    touch: `WITH v AS (
  SELECT id, max(at) AS at FROM unnest($1::text[], $2::bigint[]) AS t(id, at) GROUP BY id
), l AS (
  SELECT k.id, v.at FROM ${K} AS k JOIN v ON k.id = v.id
  WHERE k.last_used_at IS NULL OR k.last_used_at < v.at
  ORDER BY k.id FOR UPDATE OF k SKIP LOCKED
)
UPDATE ${K} AS k SET last_used_at = l.at FROM l WHERE k.id = l.id`,
  }
}

type GroupStatements = Pick<Statements, 'getGroup' | 'groupVersion' | 'insertGroup' | 'updateGroup' | 'updateGroupIf' | 'revokeGroup' | 'narrowGroupIps' | 'deleteGroup' | 'listGroups'>

/** The statements on key groups, for the (validated, quoted) schema `s`. */
function groupStatements(s: string): GroupStatements {
  const G = `${s}.keyward_groups`
  return {
    getGroup: `SELECT ${GROUP_COLUMNS.join(', ')} FROM ${G} WHERE id = $1`,
    groupVersion: `SELECT ${G_COLUMNS}, ${GROUP_VERSION} AS version FROM ${G} AS g WHERE g.id = $1`,
    insertGroup: `INSERT INTO ${G} (${GROUP_COLUMNS.join(', ')}) VALUES ($1::text, $2::text, $3::text, $4::text, $5::boolean, $6::text[], $7::bigint, $8::bigint)`,
    updateGroup: `UPDATE ${G} SET name = $2::text, description = $3::text, tenant = $4::text, active = $5::boolean, allowed_ips = $6::text[], created_at = $7::bigint, updated_at = $8::bigint WHERE id = $1::text`,
    // Compare-and-swap on the version read ($9); the final SELECT tells "updated" from "no such
    // group" from "changed since read".
    updateGroupIf: `WITH u AS (
  UPDATE ${G} AS g SET name = $2::text, description = $3::text, tenant = $4::text, active = $5::boolean, allowed_ips = $6::text[], created_at = $7::bigint, updated_at = $8::bigint
  WHERE g.id = $1::text AND ${GROUP_VERSION} = $9::text
  RETURNING g.id
)
SELECT (SELECT count(*) FROM u)::int AS updated, EXISTS (SELECT 1 FROM ${G} WHERE id = $1) AS present`,
    // A group revoke in one statement, whoever edits the group meanwhile ($2: the time).
    revokeGroup: `UPDATE ${G} AS g SET active = false, updated_at = $2::bigint WHERE g.id = $1::text
RETURNING ${G_COLUMNS}, ${GROUP_VERSION} AS version`,
    // An allowlist narrowing in one statement, whoever edits the group meanwhile: the stored list
    // keeps, in order, only entries also in $2 (a NULL element, written by SQL, is dropped); no
    // list at all (every address) becomes $2. $3: the time.
    narrowGroupIps: `UPDATE ${G} AS g SET allowed_ips = CASE WHEN g.allowed_ips IS NULL THEN $2::text[]
  ELSE ARRAY(SELECT t.e FROM unnest(g.allowed_ips) WITH ORDINALITY AS t(e, i) WHERE t.e = ANY($2::text[]) ORDER BY t.i) END,
  updated_at = $3::bigint WHERE g.id = $1::text
RETURNING ${G_COLUMNS}, ${GROUP_VERSION} AS version`,
    deleteGroup: `DELETE FROM ${G} WHERE id = $1`,
    listGroups: (byTenant) => `SELECT ${GROUP_COLUMNS.join(', ')} FROM ${G}${byTenant ? ' WHERE tenant = $1' : ''} ORDER BY created_at, id`,
  }
}

/** The statements for the (validated, quoted) schema `s`: keys, groups, owners and the schema version. */
export function statements(s: string): Statements {
  const O = `${s}.keyward_owners`
  return {
    ...keyStatements(s),
    ...groupStatements(s),
    findOwner: `SELECT role, active FROM ${O} WHERE id = $1`,
    putOwner: `INSERT INTO ${O} (id, role, active, updated_at) VALUES ($1::text, $2::text, $3::boolean, $4::bigint)
ON CONFLICT (id) DO UPDATE SET role = EXCLUDED.role, active = EXCLUDED.active, updated_at = EXCLUDED.updated_at`,
    deleteOwner: `DELETE FROM ${O} WHERE id = $1`,
    schemaVersion: `SELECT max(version)::int AS version FROM ${s}.keyward_migrations`,
  }
}

/**
 * One consume of credits ($1 key id, $2 cost, $3 time): the refill due and the decrement in one
 * conditional UPDATE of the row, which Postgres re-evaluates on the row's latest version when a
 * concurrent consume got there first (READ COMMITTED), so concurrent consumes are exact and never
 * go below zero. When the UPDATE matches nothing, the second branch reports the balance (or,
 * with credits_remaining NULL, an unlimited key) as of the statement's snapshot; no row at all:
 * no such key. The arithmetic is `refilled()` of `_credits.ts`.
 */
function consumeSql(K: string): string {
  const ms = `(CASE k.credits_refill->>'interval' WHEN 'day' THEN 86400000 WHEN 'month' THEN 2592000000 ELSE (k.credits_refill->>'interval')::bigint END)`
  const due = `(k.credits_refill IS NOT NULL AND k.credits_refilled_at IS NOT NULL AND $3::bigint >= k.credits_refilled_at + ${ms})`
  const rem = `(CASE WHEN ${due} THEN greatest(k.credits_remaining, (k.credits_refill->>'amount')::bigint) ELSE k.credits_remaining END)`
  const at = `(CASE WHEN ${due} THEN k.credits_refilled_at + (($3::bigint - k.credits_refilled_at) / ${ms}) * ${ms} ELSE k.credits_refilled_at END)`
  return `WITH u AS (
  UPDATE ${K} AS k SET credits_remaining = ${rem} - $2::bigint, credits_refilled_at = ${at}
  WHERE k.id = $1::text AND k.credits_remaining IS NOT NULL AND ${rem} >= $2::bigint
  RETURNING k.credits_remaining AS remaining, k.credits_refilled_at AS refilled_at, k.credits_refill AS refill
)
SELECT true AS allowed, remaining, refilled_at, refill FROM u
UNION ALL
SELECT k.credits_remaining IS NULL AS allowed, ${rem} AS remaining, ${at} AS refilled_at, k.credits_refill AS refill
FROM ${K} AS k WHERE k.id = $1::text AND NOT EXISTS (SELECT 1 FROM u)`
}
