/**
 * A key's page: its facts, what an administrator may edit (role, scopes, expiry, rate limit,
 * description, addresses, grants), its usage over 24 hours and 30 days, and its audit trail.
 * @module
 */
import { api, ask, run, session } from './api.js'
import { usageFigure, type Usage } from './chart.js'
import { $, btn, el, field, fieldError, fmtTime, form, input, say, timeEl } from './dom.js'
import { auditRows, type AuditEntry } from './audit.js'
import { listHooks, renderKeys } from './keys.js'
import { currentKey, groupName, keyLabel, replaceKey, state, type Key } from './state.js'

function chip(value: string, action: string, what: string): HTMLElement {
  const li = el('li')
  li.setAttribute('data-value', value)
  li.append(el('span', value), btn('remove', action, { name: `Remove ${what} ${value}` }))
  return li
}

function localInput(ms: number | undefined): string {
  if (typeof ms !== 'number') return ''
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000)
  return d.toISOString().slice(0, 16)
}

function facts(k: Key): void {
  const now = Date.now()
  const dl = $('detail-facts')
  dl.replaceChildren()
  const rows: [string, string | Node][] = [
    ['Key start', k.start ? `${k.start}…` : '— (imported key)'], ['ID', k.id], ['Kind', k.kind], ['Owner', k.owner ?? '—'], ['Role', k.role ?? '—'],
    ['Tenant', k.tenant ?? '—'], ['Group', k.group ? groupName(k.group) : '—'], ['Status', k.leaked ? `${k.active ? 'active' : 'inactive'}, leaked` : k.active ? 'active' : 'inactive'],
    ['Created', timeEl(k.createdAt, now, '')], ['Last used', timeEl(k.lastUsedAt, now, 'never')], ['Expires', timeEl(k.expiresAt, now, 'never')],
  ]
  if (k.credits) {
    const c = k.credits
    const refill = c.refill ? `, +${c.refill.amount} every ${String(c.refill.interval)}${c.nextRefillAt ? ` (next ${fmtTime(c.nextRefillAt)})` : ''}` : ''
    rows.push(['Credits left', `${c.remaining}${refill}`])
  }
  for (const [dt, dd] of rows) {
    const d = el('dd')
    d.append(dd)
    dl.append(el('dt', dt), d)
  }
}

/** Renders the open key's page from the list's copy of it (or hides it). */
export function renderDetail(): void {
  const k = currentKey()
  if (!k) {
    $('detail').hidden = true
    state.detailId = null
    return
  }
  $('detail').hidden = false
  $('detail').setAttribute('data-key-id', k.id)
  $('detail-title').textContent = `Key ${keyLabel(k)}`
  facts(k)
  const ef = form('detail-edit-form')
  if (!ef.contains(document.activeElement)) {
    const role = field(ef, 'role') as unknown as HTMLSelectElement
    role.replaceChildren(new Option('(none)', ''))
    for (const r of session.me?.roles ?? []) role.appendChild(new Option(r, r))
    role.value = k.role ?? ''
    role.disabled = k.kind !== 'user'
    field(ef, 'scopes').value = (k.scopes ?? []).join('\n')
    field(ef, 'expiresAt').value = localInput(k.expiresAt)
    field(ef, 'capacity').value = k.rateLimit ? String(k.rateLimit.capacity) : ''
    field(ef, 'refillPerSecond').value = k.rateLimit ? String(k.rateLimit.refillPerSecond) : ''
  }
  if (document.activeElement !== $('detail-desc')) input('detail-desc').value = k.description ?? ''
  const ips = $('detail-ips')
  ips.replaceChildren()
  for (const ip of k.allowedIps ?? []) ips.appendChild(chip(ip, 'remove-ip', 'address'))
  $('detail-ips-mode').textContent = k.allowedIps === undefined
    ? 'No restriction: any client address is accepted (the group may still restrict it).'
    : k.allowedIps.length === 0
      ? 'Empty list: no address is accepted, so the key cannot be used. Add an address or remove the restriction.'
      : 'Only these addresses are accepted:'
  $('detail-ips-clear').hidden = k.allowedIps === undefined
  const grants = $('detail-grants')
  grants.replaceChildren()
  for (const g of k.grants ?? []) grants.appendChild(chip(g, 'remove-grant', 'operation'))
  if (!k.grants || k.grants.length === 0) grants.appendChild(el('li', 'none granted', 'none'))
}

/** Opens a key's page and loads its usage and trail. */
export async function openKey(id: string): Promise<void> {
  state.detailId = id
  // Never show the previously opened key's usage or trail under this key's title.
  $('detail-usage').replaceChildren(el('p', 'Loading usage…', 'hint'))
  ;($('detail-audit') as HTMLTableElement).tBodies[0]!.replaceChildren()
  $('detail-audit-empty').textContent = 'Loading the trail…'
  renderDetail()
  $('detail').scrollIntoView({ block: 'start' })
  $('detail-title').focus()
  await loadInsight(id)
}

let insights = 0

/**
 * Loads a key's usage and trail. Only the latest load renders: an older answer arriving late
 * (the trail loaded after one edit, overtaken by the one after the next) never replaces a newer one.
 */
async function loadInsight(id: string): Promise<void> {
  const mine = ++insights
  const path = `/keys/${encodeURIComponent(id)}`
  const [day, month, trail] = await Promise.all([
    api<Usage>('GET', `${path}/usage?window=24h`),
    api<Usage>('GET', `${path}/usage?window=30d`),
    api<{ items: AuditEntry[]; recording: boolean }>('GET', `/audit?key=${encodeURIComponent(id)}&limit=50`),
  ])
  if (mine !== insights || state.detailId !== id) return
  $('detail-usage').replaceChildren(usageFigure(day, 'Last 24 hours'), usageFigure(month, 'Last 30 days'))
  const body = ($('detail-audit') as HTMLTableElement).tBodies[0]!
  body.replaceChildren(...auditRows(trail.items))
  $('detail-audit-empty').textContent = trail.recording ? (trail.items.length === 0 ? 'No changes recorded for this key.' : '') : 'This server keeps no audit trail.'
}

/**
 * Empties an add field once its addition is saved, and before the key's usage and trail reload:
 * what the user typed next while the request was out is theirs, and stays.
 */
function emptyUnlessRetyped(id: string, sent: string): void {
  if (input(id).value === sent) input(id).value = ''
}

function detailPath(): string {
  return `/keys/${encodeURIComponent(state.detailId ?? '')}`
}
async function afterEdit(record: Key, message: string): Promise<void> {
  replaceKey(record)
  renderKeys()
  say(message)
  if (state.detailId !== null) await loadInsight(state.detailId)
}

/** The changed fields of the edit form, as a PATCH body; a field error for what cannot be sent. */
function editPatch(f: HTMLFormElement, k: Key): Record<string, unknown> | undefined {
  const patch: Record<string, unknown> = {}
  const role = field(f, 'role').value
  if (k.kind === 'user' && role !== (k.role ?? '')) patch.role = role === '' ? null : role
  const scopes = field(f, 'scopes').value.split(/[\s,]+/).filter((s) => s.length > 0)
  if (scopes.join(' ') !== (k.scopes ?? []).join(' ')) patch.scopes = scopes.length === 0 ? null : scopes
  const exp = field(f, 'expiresAt').value
  if (exp !== localInput(k.expiresAt)) {
    const t = exp === '' ? null : new Date(exp).getTime()
    if (t !== null && !isFinite(t)) return fieldError(field(f, 'expiresAt'), 'The expiry date is not valid.'), undefined
    patch.expiresAt = t
  }
  const cap = field(f, 'capacity').value.trim()
  const refill = field(f, 'refillPerSecond').value.trim()
  const old = k.rateLimit
  if (cap !== (old ? String(old.capacity) : '') || refill !== (old ? String(old.refillPerSecond) : '')) {
    if (cap === '' && refill === '') patch.rateLimit = null
    else if (cap === '' || refill === '') return fieldError(field(f, cap === '' ? 'capacity' : 'refillPerSecond'), 'Give both the burst and the rate, or neither.'), undefined
    else patch.rateLimit = { capacity: Number(cap), refillPerSecond: Number(refill) }
  }
  return patch
}

export function wireDetail(): void {
  listHooks.detail = renderDetail
  listHooks.open = (id) => void run(() => openKey(id))
  $('detail-close').addEventListener('click', () => {
    const id = state.detailId
    state.detailId = null
    renderDetail()
    const opener = id === null ? null : document.querySelector<HTMLElement>(`#keys-table tr[data-key-id="${CSS.escape(id)}"] button[data-action="edit"]`)
    opener?.focus()
  })
  const ef = form('detail-edit-form')
  ef.addEventListener('submit', (ev) => {
    ev.preventDefault()
    const k = currentKey()
    if (!k) return
    void run(async () => {
      const patch = editPatch(ef, k)
      if (patch === undefined) return
      if (Object.keys(patch).length === 0) {
        say('Nothing to save.')
        return
      }
      await afterEdit(await api<Key>('PATCH', detailPath(), patch), `Key ${keyLabel(k)} saved.`)
    }, ef)
  })
  const df = form('detail-desc-form')
  df.addEventListener('submit', (ev) => {
    ev.preventDefault()
    const d = input('detail-desc').value
    void run(async () => afterEdit(await api<Key>('PATCH', detailPath(), { description: d === '' ? null : d }), 'Description saved.'), df)
  })
  const ipf = form('detail-ip-form')
  ipf.addEventListener('submit', (ev) => {
    ev.preventDefault()
    const typed = input('detail-ip').value
    const entries = typed.split(/[\s,]+/).filter((s) => s.length > 0)
    void run(async () => {
      if (!entries.length) return fieldError(input('detail-ip'), 'Enter an IPv4 or IPv6 address, optionally with a /prefix.')
      const record = await api<Key>('POST', `${detailPath()}/allowed-ips/add`, { entries })
      emptyUnlessRetyped('detail-ip', typed)
      await afterEdit(record, 'Address added.')
    }, ipf)
  })
  const gf = form('detail-grant-form')
  gf.addEventListener('submit', (ev) => {
    ev.preventDefault()
    const typed = input('detail-grant').value
    const op = typed.trim()
    void run(async () => {
      if (!op) return fieldError(input('detail-grant'), 'Enter an operation name.')
      const record = await api<Key>('POST', `${detailPath()}/grants/add`, { operations: [op] })
      emptyUnlessRetyped('detail-grant', typed)
      await afterEdit(record, 'Operation granted.')
    }, gf)
  })
  $('detail-ips-clear').addEventListener('click', () => {
    void run(async () => {
      if (!(await ask({ message: `Remove the address restriction of key ${state.detailId ?? ''}? It will be accepted from any address its group allows.`, confirm: 'Remove restriction' }))) return
      await afterEdit(await api<Key>('PATCH', detailPath(), { allowedIps: null }), 'Address restriction removed.')
    })
  })
  $('detail').addEventListener('click', (ev) => {
    const b = (ev.target as HTMLElement).closest('li button[data-action]')
    if (!b) return
    const value = b.closest('li')?.getAttribute('data-value') ?? ''
    const action = b.getAttribute('data-action')
    void run(async () => {
      if (action === 'remove-ip') await afterEdit(await api<Key>('POST', `${detailPath()}/allowed-ips/remove`, { entries: [value] }), 'Address removed.')
      else await afterEdit(await api<Key>('POST', `${detailPath()}/grants/remove`, { operations: [value] }), 'Grant revoked.')
    })
  })
}
