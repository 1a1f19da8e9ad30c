/**
 * The console's session and its calls to the admin API. The administrator's key lives in this
 * module's variable only: never in storage, cookies, the URL or the DOM.
 * @module
 */
import { $, clearFieldErrors, field, fieldError, say } from './dom.js'

const body = document.body
export const API = body.getAttribute('data-api') ?? ''
const AUTH_HEADER = body.getAttribute('data-auth-header') ?? ''
export const AUTH_FORMAT = body.getAttribute('data-auth-format') ?? ''

/** An RFC 9457 problem document as the API sends it. */
export interface ProblemDoc {
  title?: string
  detail?: string
  code?: string
  field?: string
}

export class ApiError extends Error {
  readonly status: number
  readonly problem: ProblemDoc | null
  constructor(status: number, problem: ProblemDoc | null) {
    super(`status ${status}`)
    this.status = status
    this.problem = problem
  }
}

/** The signed-in administrator, as `GET /me` answers. */
export interface Session {
  keyId: string
  kind: string
  tenant?: string
  roles: string[]
  permissions: string[]
}

export const session: { key: string | null; me: Session | null } = { key: null, me: null }

function authValue(key: string): string {
  if (AUTH_FORMAT === 'bearer') return `Bearer ${key}`
  if (AUTH_FORMAT === 'basic') return `Basic ${btoa(`${key}:`)}`
  if (AUTH_FORMAT === 'rest_api_key') return `rest_api_key=${key}`
  return key
}

export async function api<T = unknown>(method: string, path: string, payload?: unknown): Promise<T> {
  if (session.key === null) throw new ApiError(401, { title: 'Signed out', detail: 'Sign in again.' })
  const headers: Record<string, string> = { [AUTH_HEADER]: authValue(session.key) }
  const init: RequestInit = { method, headers, cache: 'no-store', credentials: 'omit', redirect: 'error', referrerPolicy: 'no-referrer' }
  if (payload !== undefined) {
    headers['content-type'] = 'application/json'
    init.body = JSON.stringify(payload)
  }
  const res = await fetch(API + path, init)
  if (res.status === 204) return null as T
  let data: unknown = null
  try {
    data = await res.json()
  } catch {
    data = null
  }
  if (!res.ok) throw new ApiError(res.status, data !== null && typeof data === 'object' ? (data as ProblemDoc) : null)
  return data as T
}

export function describe(err: unknown): string {
  if (err instanceof ApiError) {
    const p = err.problem
    if (p && typeof p.detail === 'string') return `${typeof p.title === 'string' ? p.title : 'Error'} (${err.status}): ${p.detail}`
    return `The server answered with status ${err.status}.`
  }
  return 'The server could not be reached. Check the connection and try again.'
}

export function showError(err: unknown): void {
  $('error-text').textContent = typeof err === 'string' ? err : describe(err)
  $('error').hidden = false
  say('')
  $('error-close').focus()
}
export function clearError(): void {
  $('error').hidden = true
  $('error-text').textContent = ''
}

/** Called when the admin key is refused mid-session. Set by the sign-in module. */
export const hooks: { signOut: () => void } = { signOut: () => undefined }

/**
 * The control of `form` an API problem is about: the form's control named like the problem's
 * `field` (or its first segment, `entries[0]` → `entries`), else the form's `data-field-<name>`
 * mapping, else `undefined`.
 */
function controlFor(f: HTMLFormElement, name: string): HTMLElement | undefined {
  const base = name.replace(/\[.*$/, '').split('.')[0] ?? name
  const mapped = f.getAttribute(`data-field-${base.toLowerCase()}`)
  for (const n of [base, mapped]) {
    if (!n) continue
    try {
      return field(f, n)
    } catch {
      // not this one
    }
  }
  return undefined
}

/**
 * Runs an action and shows its failure in words: next to the field at fault when the API names
 * one of `f`'s controls (focus moved there), else in the banner. A refused admin key ends the session.
 */
export async function run(action: () => Promise<void>, f?: HTMLFormElement): Promise<void> {
  clearError()
  if (f) clearFieldErrors(f)
  try {
    await action()
  } catch (err) {
    if (err instanceof ApiError && err.status === 401 && session.me !== null) {
      hooks.signOut()
      showError(`Your administrator key was refused, so you have been signed out. ${describe(err)}`)
      return
    }
    const name = err instanceof ApiError ? err.problem?.field : undefined
    const control = f && typeof name === 'string' ? controlFor(f, name) : undefined
    if (control) {
      say('')
      fieldError(control, describe(err))
    } else showError(err)
  }
}

/** A confirmation (or a one-field prompt) in the page's modal dialog. */
export function ask(opts: { message: string; confirm?: string; label?: string; value?: string; type?: string }): Promise<string | true | null> {
  return new Promise((resolve) => {
    const d = $('dialog') as HTMLDialogElement
    const f = $('dialog-form')
    const cancel = $('dialog-cancel')
    const inp = $('dialog-input') as HTMLInputElement
    $('dialog-message').textContent = opts.message
    $('dialog-field').hidden = !opts.label
    $('dialog-label').textContent = opts.label ?? ''
    inp.type = opts.type ?? 'text'
    inp.value = opts.value ?? ''
    if (opts.type === 'number') {
      inp.min = '0'
      inp.step = 'any'
    }
    $('dialog-confirm').textContent = opts.confirm ?? 'Confirm'
    const done = (value: string | true | null): void => {
      f.removeEventListener('submit', onSubmit)
      cancel.removeEventListener('click', onCancel)
      d.removeEventListener('cancel', onCancel)
      if (d.open) d.close()
      inp.value = ''
      resolve(value)
    }
    function onSubmit(ev: Event): void {
      ev.preventDefault()
      done(opts.label ? inp.value : true)
    }
    function onCancel(ev?: Event): void {
      ev?.preventDefault()
      done(null)
    }
    f.addEventListener('submit', onSubmit)
    cancel.addEventListener('click', onCancel)
    d.addEventListener('cancel', onCancel)
    d.showModal()
    ;(opts.label ? inp : $('dialog-confirm')).focus()
  })
}
