/**
 * The audit trail: who did what to which key, when, and from where, newest first.
 * @module
 */
import { api, run } from './api.js'
import { $, el, fmtTime } from './dom.js'

export interface AuditEntry {
  seq: number
  at: number
  action: string
  outcome: string
  status: number
  actor?: string
  target?: string
  code?: string
  url?: string
  source?: string
  leakAction?: string
}

const WORDS: Record<string, string> = {
  createKey: 'issued key', updateKey: 'edited key', deleteKey: 'deleted key', activateKey: 'activated key', deactivateKey: 'deactivated key',
  rotateKey: 'rotated key', addGrants: 'granted operations to', removeGrants: 'revoked operations of', addAllowedIps: 'added addresses to',
  removeAllowedIps: 'removed addresses of', createGroup: 'created group', updateGroup: 'edited group', deleteGroup: 'deleted group',
  activateGroup: 'activated group', deactivateGroup: 'deactivated group', reportLeak: 'reported leaked: key',
}

/** Table rows for entries: when, who, what, which, outcome, where. */
export function auditRows(items: readonly AuditEntry[]): HTMLElement[] {
  return items.map((e) => {
    const tr = el('tr')
    tr.setAttribute('data-seq', String(e.seq))
    if (e.action === 'reportLeak') tr.className = 'leak'
    const when = el('td', null)
    const t = el('time', fmtTime(e.at))
    t.setAttribute('datetime', new Date(e.at).toISOString())
    when.appendChild(t)
    const cells: [string, string | HTMLElement][] = [
      ['When', when],
      ['Who', e.action === 'reportLeak' ? `scanner${e.source ? ` (${e.source})` : ''}` : e.actor ?? 'unauthenticated caller'],
      ['What', WORDS[e.action] ?? e.action],
      ['Which', e.target ?? '—'],
      ['Outcome', `${e.outcome}${e.code ? ` (${e.code})` : ''}${e.leakAction ? `: ${e.leakAction}` : ''}`],
      ['Where', e.url ?? ''],
    ]
    for (const [label, v] of cells) {
      const td = typeof v === 'string' ? el('td', v) : v
      td.setAttribute('data-label', label)
      tr.appendChild(td)
    }
    return tr
  })
}

let next: string | undefined

let loads = 0

/** Loads the trail (or its next page); only the latest request renders. */
async function load(more: boolean): Promise<void> {
  const mine = ++loads
  const q = new URLSearchParams({ limit: '50' })
  const key = ($('audit-key') as HTMLInputElement).value.trim()
  if (key) q.set('key', key)
  if (more && next) q.set('cursor', next)
  const page = await api<{ items: AuditEntry[]; nextCursor?: string; recording: boolean }>('GET', `/audit?${q.toString()}`)
  if (mine !== loads) return
  const body = ($('audit-table') as HTMLTableElement).tBodies[0]!
  if (!more) body.replaceChildren()
  body.append(...auditRows(page.items))
  next = page.nextCursor
  ;($('audit-more') as HTMLButtonElement).hidden = next === undefined
  $('audit-empty').textContent = page.recording ? (body.rows.length === 0 ? 'No entries.' : '') : 'This server keeps no audit trail (no auditStore).'
}

export function loadAudit(): Promise<void> {
  return load(false)
}

export function wireAudit(): void {
  const f = $('audit-form') as HTMLFormElement
  f.addEventListener('submit', (ev) => {
    ev.preventDefault()
    void run(() => load(false), f)
  })
  $('audit-more').addEventListener('click', () => void run(() => load(true)))
}
