/**
 * The key list: search, sort, pages, row actions, and the issue form.
 * @module
 */
import { api, ask, run, session, showError } from './api.js'
import { $, badge, btn, el, field, fieldError, fmtTime, form, say, table, timeEl } from './dom.js'
import { currentKey, groupName, keyLabel, replaceKey, state, type Key, type Page } from './state.js'

/** Called after the list changed, to refresh the open key page. Set by the detail module. */
export const listHooks: { detail: () => void; open: (id: string) => void; secret: (key: string, note: string) => void } = {
  detail: () => undefined,
  open: () => undefined,
  secret: () => undefined,
}

const SORTABLE: Record<string, string> = { created: 'createdAt', lastUsed: 'lastUsedAt', expires: 'expiresAt', owner: 'owner' }

let loads = 0

/**
 * Loads the page at `state.cursor` with the search and sort. Only the latest request renders:
 * an older answer arriving late (a reset overtaken by a search) never replaces a newer one.
 */
export async function loadKeys(): Promise<void> {
  const mine = ++loads
  const q = new URLSearchParams(state.search)
  q.set('sort', state.sort)
  q.set('limit', String(state.limit))
  if (state.cursor) q.set('cursor', state.cursor)
  const page = await api<Page<Key>>('GET', `/keys?${q.toString()}`)
  if (mine !== loads) return
  state.keys = page.items
  state.next = page.nextCursor
  renderKeys()
}

function statusCell(k: Key, now: number): HTMLElement {
  const td = el('td', null, 'status-cell')
  td.setAttribute('data-label', 'Status')
  td.append(badge(k.active ? 'active' : 'inactive', k.active))
  if (k.leaked) td.append(' ', badge('leaked', false))
  if (typeof k.expiresAt === 'number' && k.expiresAt <= now) td.append(' ', badge('expired', false))
  if (typeof k.previousExpiresAt === 'number' && k.previousExpiresAt > now) td.appendChild(el('span', `previous key valid until ${fmtTime(k.previousExpiresAt)}`, 'sub'))
  return td
}

function cell(label: string, content: string | Node, cls?: string): HTMLElement {
  const td = el('td', null, cls)
  td.setAttribute('data-label', label)
  td.append(content)
  return td
}

export function renderKeys(): void {
  const kb = table('keys-table')
  kb.replaceChildren()
  const now = Date.now()
  for (const k of state.keys) {
    const self = session.me !== null && k.id === session.me.keyId
    const tr = el('tr')
    tr.setAttribute('data-key-id', k.id)
    const idCell = cell('Key', el('code', k.start ? `${k.start}…` : '—'), 'id')
    idCell.appendChild(el('span', k.id, 'sub'))
    if (self) idCell.appendChild(el('span', 'this session', 'sub'))
    const name = keyLabel(k)
    const why = self ? 'This is the key you are signed in with; use another administrator key to change it.' : ''
    const actions = cell('Actions', '', 'actions')
    actions.append(
      btn('Open', 'edit', { name: `Open key ${name}` }),
      btn(k.active ? 'Deactivate' : 'Activate', k.active ? 'deactivate' : 'activate', { disabled: self, title: why, name: `${k.active ? 'Deactivate' : 'Activate'} key ${name}` }),
      btn('Rotate', 'rotate', { name: `Rotate key ${name}` }),
      btn('Delete', 'delete', { disabled: self, title: why, name: `Delete key ${name}` }),
    )
    tr.append(
      idCell,
      cell('Kind', k.kind),
      cell('Owner', k.owner ?? ''),
      cell('Role', k.role ?? ''),
      cell('Group', k.group ? groupName(k.group) : ''),
      cell('Description', k.description ?? '', 'desc'),
      statusCell(k, now),
      cell('Created', timeEl(k.createdAt, now, '')),
      cell('Last used', timeEl(k.lastUsedAt, now, 'never')),
      cell('Expires', timeEl(k.expiresAt, now, 'never')),
      actions,
    )
    kb.appendChild(tr)
  }
  $('keys-empty').hidden = state.keys.length > 0
  ;($('keys-prev') as HTMLButtonElement).disabled = state.back.length === 0
  ;($('keys-next') as HTMLButtonElement).disabled = state.next === undefined
  const first = state.back.length * state.limit + 1
  $('keys-page-info').textContent = state.keys.length === 0 ? 'No keys match.' : `Keys ${first}–${first + state.keys.length - 1}${state.next === undefined ? '' : ' (more on the next page)'}`
  for (const th of Array.from(document.querySelectorAll<HTMLElement>('#keys-table th[data-sort]'))) {
    const f = SORTABLE[th.getAttribute('data-sort') ?? ''] ?? ''
    th.setAttribute('aria-sort', state.sort === f ? 'ascending' : state.sort === `-${f}` ? 'descending' : 'none')
  }
  listHooks.detail()
}

// ---- search, sort, pages ------------------------------------------------------------------------

/** What a pasted key is cut to before it is sent: its prefix, environment and 4 characters. */
export function startOf(pasted: string): string {
  const s = pasted.trim().replace(/…$/, '')
  const parts = s.split('_')
  if (parts.length < 2) return s.slice(0, 38)
  const last = parts.pop() ?? ''
  return `${parts.join('_')}_${last.slice(0, 4)}`.slice(0, 38)
}

export function wireList(): void {
  const sf = form('search-form')
  sf.addEventListener('submit', (ev) => {
    ev.preventDefault()
    const q = new URLSearchParams()
    for (const name of ['owner', 'q', 'role', 'kind', 'status']) {
      const v = field(sf, name).value.trim()
      if (v) q.set(name, v)
    }
    const prefix = field(sf, 'prefix')
    // A pasted whole key never leaves the page: only its non-secret start is searched for.
    if (prefix.value.trim()) {
      prefix.value = startOf(prefix.value)
      q.set('prefix', prefix.value)
    }
    const group = ($('keys-filter') as HTMLSelectElement).value
    if (group) q.set('group', group)
    const within = field(sf, 'expiresWithin').value
    if (within) {
      q.set('expiresAfter', String(Date.now()))
      q.set('expiresBefore', String(Date.now() + Number(within) * 86_400_000))
    }
    state.search = q
    state.cursor = ''
    state.back = []
    void run(async () => {
      await loadKeys()
      say(`${state.keys.length === 0 ? 'No' : state.keys.length} key${state.keys.length === 1 ? '' : 's'} found${state.next ? ' on this page' : ''}.`)
    }, sf)
  })
  sf.addEventListener('reset', () => {
    state.search = new URLSearchParams()
    state.cursor = ''
    state.back = []
    void run(loadKeys)
  })
  $('keys-filter').addEventListener('change', () => sf.requestSubmit())
  $('keys-next').addEventListener('click', () => {
    if (state.next === undefined) return
    state.back.push(state.cursor)
    state.cursor = state.next
    void run(loadKeys)
  })
  $('keys-prev').addEventListener('click', () => {
    const prev = state.back.pop()
    if (prev === undefined) return
    state.cursor = prev
    void run(loadKeys)
  })
  $('keys-table').addEventListener('click', (ev) => {
    const target = ev.target as HTMLElement
    const sortBtn = target.closest('th[data-sort] button')
    if (sortBtn) {
      const f = SORTABLE[sortBtn.closest('th')?.getAttribute('data-sort') ?? ''] ?? 'createdAt'
      state.sort = state.sort === f ? `-${f}` : f
      state.cursor = ''
      state.back = []
      void run(loadKeys)
      return
    }
    const b = target.closest('button[data-action]') as HTMLButtonElement | null
    if (!b || b.disabled) return
    const id = b.closest('tr')?.getAttribute('data-key-id')
    if (id) void rowAction(id, b.getAttribute('data-action') ?? '')
  })
}

export async function rowAction(id: string, action: string): Promise<void> {
  const path = `/keys/${encodeURIComponent(id)}`
  const k = state.keys.find((x) => x.id === id)
  const name = k ? keyLabel(k) : id
  await run(async () => {
    if (action === 'edit') {
      listHooks.open(id)
    } else if (action === 'delete') {
      if (!(await ask({ message: `Delete key ${name}? Clients using it are refused at once. This cannot be undone.`, confirm: 'Delete key' }))) return
      await api('DELETE', path)
      state.keys = state.keys.filter((x) => x.id !== id)
      if (state.detailId === id) state.detailId = null
      renderKeys()
      say(`Key ${name} deleted.`)
    } else if (action === 'rotate') {
      await rotate(id, name, k?.active !== false)
    } else if (action === 'activate' || action === 'deactivate') {
      if (action === 'deactivate' && !(await ask({ message: `Deactivate key ${name}? Clients using it are refused until it is activated again.`, confirm: 'Deactivate key' }))) return
      replaceKey(await api<Key>('POST', `${path}/${action}`))
      renderKeys()
      say(`Key ${name} ${action === 'activate' ? 'activated' : 'deactivated'}.`)
    }
  })
}

async function rotate(id: string, name: string, active: boolean): Promise<void> {
  const message = active
    ? `Rotate key ${name}? A new key is issued now. The current key keeps working during the grace period, then it is refused.`
    : `Rotate key ${name}? A new key is issued now. This key is inactive: neither the current key nor the new one is accepted until it is activated.`
  const grace = await ask({ message, label: 'Grace period (seconds)', value: active ? '3600' : '0', type: 'number', confirm: 'Rotate key' })
  if (grace === null || grace === true) return
  const seconds = Number(grace)
  if (grace.trim() === '' || !isFinite(seconds) || seconds < 0) {
    showError('The grace period must be a number of seconds, 0 or more.')
    return
  }
  const res = await api<{ key: string; record: Key }>('POST', `/keys/${encodeURIComponent(id)}/rotate`, { graceMs: Math.round(seconds * 1000) })
  // Rotating the session's own key: carry on with the new one.
  if (session.me !== null && id === session.me.keyId) session.key = res.key
  replaceKey(res.record)
  renderKeys()
  listHooks.secret(res.key, active
    ? `Key ${id} was rotated. The previous key stops working at ${fmtTime(res.record.previousExpiresAt)}.`
    : `Key ${id} was rotated. It is inactive: activate it before either key is accepted.`)
  say(`Key ${name} rotated.`)
}

// ---- the issue form -----------------------------------------------------------------------------

function lines(value: string, split: RegExp): string[] {
  return value.split(split).map((s) => s.trim()).filter((s) => s.length > 0)
}

export function wireIssue(): void {
  const f = form('key-form')
  const kind = field(f, 'kind')
  kind.addEventListener('change', () => {
    field(f, 'role').disabled = kind.value !== 'user'
  })
  f.addEventListener('submit', (ev) => {
    ev.preventDefault()
    const v = (n: string): string => field(f, n).value
    const payload: Record<string, unknown> = { kind: v('kind'), active: field(f, 'active').checked }
    if (v('owner').trim()) payload.owner = v('owner').trim()
    if (v('role') && payload.kind === 'user') payload.role = v('role')
    if (v('group')) payload.group = v('group')
    if (v('description')) payload.description = v('description')
    const ips = lines(v('allowedIps'), /[\s,]+/)
    if (ips.length) payload.allowedIps = ips
    const grants = lines(v('grants'), /\n/)
    if (grants.length) payload.grants = grants
    if (v('expiresAt')) {
      const t = new Date(v('expiresAt')).getTime()
      if (!isFinite(t)) {
        fieldError(field(f, 'expiresAt'), 'The expiry date is not valid.')
        return
      }
      payload.expiresAt = t
    }
    void run(async () => {
      const res = await api<{ key: string; record: Key }>('POST', '/keys', payload)
      replaceKey(res.record)
      f.reset()
      field(f, 'role').disabled = false
      renderKeys()
      listHooks.secret(res.key, `Key ${res.record.id} was created.`)
      say(`Key ${res.record.id} created.`)
    }, f)
  })
}

export { currentKey }
