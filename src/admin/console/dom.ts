/**
 * The console's DOM helpers. Everything from the API is rendered with `textContent` (or as an
 * attribute value), never parsed as HTML. Runs in the browser only; bundled into the page's
 * script at build (see `scripts/build-console.mjs`).
 * @module
 */

/** The element with `id`; a missing one is a bug of the page, not of the data. */
export function $(id: string): HTMLElement {
  const e = document.getElementById(id)
  if (e === null) throw new Error(`console: no #${id}`)
  return e
}
export function input(id: string): HTMLInputElement {
  return $(id) as HTMLInputElement
}
export function form(id: string): HTMLFormElement {
  return $(id) as HTMLFormElement
}
export function table(id: string): HTMLTableSectionElement {
  const body = ($(id) as HTMLTableElement).tBodies[0]
  if (body === undefined) throw new Error(`console: #${id} has no tbody`)
  return body
}
/** A named control of a form (input, select or textarea). */
export function field(f: HTMLFormElement, name: string): HTMLInputElement {
  const e = f.elements.namedItem(name)
  if (e === null || e instanceof RadioNodeList) throw new Error(`console: no field ${name}`)
  return e as HTMLInputElement
}

export function el(tag: string, value?: unknown, cls?: string): HTMLElement {
  const e = document.createElement(tag)
  if (value !== undefined && value !== null) e.textContent = String(value)
  if (cls) e.className = cls
  return e
}

/** A row action button whose accessible name says what it does to which key or group. */
export function btn(label: string, action: string, opts: { disabled?: boolean; title?: string; name?: string } = {}): HTMLButtonElement {
  const b = el('button', label) as HTMLButtonElement
  b.type = 'button'
  b.setAttribute('data-action', action)
  if (opts.disabled) b.disabled = true
  if (opts.title) b.title = opts.title
  if (opts.name) b.setAttribute('aria-label', opts.name)
  return b
}

export function fmtTime(ms: unknown): string {
  if (typeof ms !== 'number' || !isFinite(ms)) return ''
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 16) + ' UTC'
}

/** "3 min ago", "in 2 days": coarse, for lists. */
export function relTime(ms: number, now: number): string {
  const d = ms - now
  const a = Math.abs(d)
  const units: [number, string][] = [[86_400_000, 'day'], [3_600_000, 'hour'], [60_000, 'min']]
  for (const [size, name] of units) {
    if (a >= size) {
      const n = Math.floor(a / size)
      const s = `${n} ${name}${n === 1 || name === 'min' ? '' : 's'}`
      return d < 0 ? `${s} ago` : `in ${s}`
    }
  }
  return d < 0 ? 'just now' : 'in under a minute'
}

/** A `<time>` showing a relative time, with the exact time on hover and for assistive technology. */
export function timeEl(ms: number | undefined, now: number, never: string): HTMLElement {
  if (typeof ms !== 'number') return el('span', never, 'muted')
  const t = el('time', relTime(ms, now))
  t.setAttribute('datetime', new Date(ms).toISOString())
  t.title = fmtTime(ms)
  t.setAttribute('aria-label', `${relTime(ms, now)} (${fmtTime(ms)})`)
  return t
}

export function say(message: string): void {
  $('status').textContent = message
}

export function badge(text: string, on: boolean): HTMLElement {
  return el('span', text, `badge ${on ? 'on' : 'off'}`)
}

// ---- errors next to the field -------------------------------------------------------------------

/** Removes every field error of a form. */
export function clearFieldErrors(f: HTMLFormElement): void {
  for (const c of Array.from(f.querySelectorAll('[aria-invalid="true"]'))) {
    c.removeAttribute('aria-invalid')
    const described = (c.getAttribute('aria-describedby') ?? '').split(' ').filter((id) => !id.endsWith('-error'))
    if (described.length > 0) c.setAttribute('aria-describedby', described.join(' '))
    else c.removeAttribute('aria-describedby')
  }
  for (const p of Array.from(f.querySelectorAll('.field-error'))) p.remove()
}

let errorSeq = 0

/**
 * Shows `message` next to `control`: `aria-invalid`, `aria-describedby` pointing at the message,
 * the message right after the control's label, and focus moved to the control.
 */
export function fieldError(control: HTMLElement, message: string): void {
  if (!control.id) control.id = `field-${++errorSeq}`
  const id = `${control.id}-error`
  document.getElementById(id)?.remove()
  const p = el('p', message, 'field-error')
  p.id = id
  const anchor = control.closest('label') ?? control.closest('.row') ?? control
  anchor.after(p)
  control.setAttribute('aria-invalid', 'true')
  const described = (control.getAttribute('aria-describedby') ?? '').split(' ').filter((x) => x && x !== id)
  control.setAttribute('aria-describedby', [...described, id].join(' '))
  control.scrollIntoView({ block: 'center' })
  control.focus()
}
