/**
 * The console's entry point: sign-in and sign-out, the one-time secret panel, and the wiring of
 * every section. Bundled into one script (an IIFE) at build by `scripts/build-console.mjs`.
 * @module
 */
import { api, AUTH_FORMAT, clearError, hooks, run, session, showError, type Session } from './api.js'
import { loadAudit, wireAudit } from './audit.js'
import { renderDetail, wireDetail } from './detail.js'
import { $, field, form, input, say, table } from './dom.js'
import { loadGroups, wireGroups } from './groups.js'
import { listHooks, loadKeys, wireIssue, wireList } from './keys.js'
import { state } from './state.js'

// ---- the one-time secret ------------------------------------------------------------------------
function showSecret(key: string, note: string): void {
  input('secret-value').value = key
  $('secret-for').textContent = note
  $('secret-copy-status').textContent = ''
  $('secret').hidden = false
  $('secret').scrollIntoView({ block: 'nearest' })
  $('secret-copy').focus()
}
function hideSecret(): void {
  input('secret-value').value = ''
  $('secret-for').textContent = ''
  $('secret-copy-status').textContent = ''
  $('secret').hidden = true
}
listHooks.secret = showSecret
$('secret-done').addEventListener('click', hideSecret)
$('secret-copy').addEventListener('click', () => {
  void (async () => {
    const i = input('secret-value')
    let copied = false
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(i.value)
        copied = true
      }
    } catch {
      copied = false
    }
    if (!copied) {
      // Fallback: select the key so the user can copy it by hand (or execCommand where it still works).
      i.focus()
      i.select()
      try {
        copied = document.execCommand('copy')
      } catch {
        copied = false
      }
    }
    $('secret-copy-status').textContent = copied ? 'Copied to the clipboard.' : 'The key is selected: press Ctrl+C (or Cmd+C) to copy it.'
  })()
})

// ---- session ------------------------------------------------------------------------------------
function signOut(): void {
  session.key = null
  session.me = null
  state.groups = []
  state.keys = []
  state.detailId = null
  state.back = []
  state.cursor = ''
  hideSecret()
  table('groups-table').replaceChildren()
  table('keys-table').replaceChildren()
  table('audit-table').replaceChildren()
  $('detail').hidden = true
  $('app').hidden = true
  $('session').hidden = true
  $('session-text').textContent = ''
  $('signin').hidden = false
  say('')
}
hooks.signOut = signOut

async function refresh(): Promise<void> {
  await loadGroups()
  await loadKeys()
  await loadAudit()
}

const signin = form('signin-form')
signin.addEventListener('submit', (ev) => {
  ev.preventDefault()
  const i = input('signin-key')
  const key = i.value.trim()
  i.value = ''
  clearError()
  if (!AUTH_FORMAT) return showError('This console cannot sign in: the server accepts no key scheme the console can send.')
  if (!key) return showError('Enter an administrator API key.')
  if (!/^[\x21-\x7e]+$/.test(key)) return showError('An API key is made of visible ASCII characters only; check what you pasted.')
  session.key = key
  void run(async () => {
    try {
      session.me = await api<Session>('GET', '/me')
    } catch (err) {
      session.key = null
      throw err
    }
    const me = session.me
    $('session-text').textContent = `Signed in with key ${me.keyId} (${me.kind}${me.tenant ? `, tenant ${me.tenant}` : ', no tenant'})`
    $('session').hidden = false
    $('signin').hidden = true
    $('app').hidden = false
    for (const sel of [field(form('key-form'), 'role'), field(form('search-form'), 'role')] as unknown as HTMLSelectElement[]) {
      sel.replaceChildren(new Option(sel.closest('#search-form') ? 'any role' : '(none)', ''))
      for (const r of me.roles ?? []) sel.appendChild(new Option(r, r))
    }
    await refresh()
    say('Signed in.')
  })
})
$('signout').addEventListener('click', () => {
  signOut()
  clearError()
  say('Signed out.')
})
$('error-close').addEventListener('click', clearError)

wireList()
wireIssue()
wireDetail()
wireGroups()
wireAudit()
renderDetail()

if (!AUTH_FORMAT) showError('This console cannot sign in: the server accepts no key scheme the console can send.')
input('signin-key').focus()
