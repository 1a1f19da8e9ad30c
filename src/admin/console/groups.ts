/**
 * Key groups: the table, the create form and each group's address allowlist.
 * @module
 */
import { api, ask, run } from './api.js'
import { $, badge, btn, el, field, form, say, table } from './dom.js'
import { renderKeys } from './keys.js'
import { groupName, replaceGroup, state, type Group, type Page } from './state.js'

export async function loadGroups(): Promise<void> {
  const all: Group[] = []
  let cursor: string | undefined
  for (let i = 0; i < 50; i++) {
    const page = await api<Page<Group>>('GET', `/groups?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)
    all.push(...page.items)
    cursor = page.nextCursor
    if (cursor === undefined) break
  }
  state.groups = all
  renderGroups()
}

function fillGroupSelect(select: HTMLSelectElement, first: string): void {
  const keep = select.value
  select.replaceChildren(new Option(first, ''))
  for (const g of state.groups) select.appendChild(new Option(g.name + (g.active ? '' : ' (inactive)'), g.id))
  select.value = state.groups.some((g) => g.id === keep) ? keep : ''
}

export function renderGroups(): void {
  fillGroupSelect($('keys-filter') as HTMLSelectElement, 'all groups')
  fillGroupSelect(field(form('key-form'), 'group') as unknown as HTMLSelectElement, '(no group)')
  const gb = table('groups-table')
  gb.replaceChildren()
  for (const g of state.groups) {
    const tr = el('tr')
    tr.setAttribute('data-group-id', g.id)
    const actions = el('td', null, 'actions')
    actions.setAttribute('data-label', 'Actions')
    actions.append(
      btn(g.active ? 'Deactivate' : 'Activate', g.active ? 'deactivate' : 'activate', { name: `${g.active ? 'Deactivate' : 'Activate'} group ${g.name}` }),
      btn('Addresses', 'addresses', { name: `Edit allowed addresses of group ${g.name}` }),
      btn('Delete', 'delete', { name: `Delete group ${g.name}` }),
    )
    const status = el('td')
    status.setAttribute('data-label', 'Status')
    status.append(badge(g.active ? 'active' : 'inactive', g.active))
    const cells: [string, string][] = [['Name', g.name], ['Description', g.description ?? ''], ['Allowed addresses', g.allowedIps === undefined ? 'any' : g.allowedIps.join(', ') || 'none'], ['ID', g.id]]
    for (const [label, v] of cells) {
      const td = el('td', v, label === 'Description' ? 'desc' : label === 'ID' ? 'id' : undefined)
      td.setAttribute('data-label', label)
      tr.appendChild(td)
    }
    tr.insertBefore(status, tr.children[2] ?? null)
    tr.appendChild(actions)
    gb.appendChild(tr)
  }
  $('groups-empty').hidden = state.groups.length > 0
}

export function wireGroups(): void {
  const gf = form('group-form')
  gf.addEventListener('submit', (ev) => {
    ev.preventDefault()
    const payload: Record<string, unknown> = { name: field(gf, 'name').value.trim() }
    const d = field(gf, 'description').value
    if (d) payload.description = d
    void run(async () => {
      const g = await api<Group>('POST', '/groups', payload)
      replaceGroup(g)
      gf.reset()
      renderGroups()
      say(`Group ${g.name} created.`)
    }, gf)
  })
  const ipf = form('group-ips-form')
  ipf.addEventListener('submit', (ev) => {
    ev.preventDefault()
    const id = ipf.getAttribute('data-group-id') ?? ''
    const entries = field(ipf, 'allowedIps').value.split(/[\s,]+/).filter((s) => s.length > 0)
    void run(async () => {
      const g = await api<Group>('PATCH', `/groups/${encodeURIComponent(id)}`, { allowedIps: entries.length === 0 ? null : entries })
      replaceGroup(g)
      renderGroups()
      renderKeys()
      ipf.hidden = true
      say(`Allowed addresses of group ${g.name} saved.`)
    }, ipf)
  })
  $('group-ips-cancel').addEventListener('click', () => {
    ipf.hidden = true
  })
  $('groups-table').addEventListener('click', (ev) => {
    const b = (ev.target as HTMLElement).closest('button[data-action]')
    if (!b) return
    const id = b.closest('tr')?.getAttribute('data-group-id') ?? ''
    const action = b.getAttribute('data-action')
    void run(async () => {
      if (action === 'addresses') {
        const g = state.groups.find((x) => x.id === id)
        ipf.setAttribute('data-group-id', id)
        $('group-ips-title').textContent = `Allowed addresses of group ${groupName(id)}`
        field(ipf, 'allowedIps').value = (g?.allowedIps ?? []).join('\n')
        ipf.hidden = false
        field(ipf, 'allowedIps').focus()
      } else if (action === 'delete') {
        if (!(await ask({ message: `Delete group ${groupName(id)}? Only an empty group can be deleted.`, confirm: 'Delete group' }))) return
        await api('DELETE', `/groups/${encodeURIComponent(id)}`)
        state.groups = state.groups.filter((g) => g.id !== id)
        renderGroups()
        say('Group deleted.')
      } else {
        if (action === 'deactivate' && !(await ask({ message: `Deactivate group ${groupName(id)}? Every key in it is refused until it is activated again.`, confirm: 'Deactivate group' }))) return
        replaceGroup(await api<Group>('POST', `/groups/${encodeURIComponent(id)}/${action ?? ''}`))
        renderGroups()
        say(`Group ${action === 'activate' ? 'activated.' : 'deactivated.'}`)
      }
    })
  })
}
