/**
 * The usage chart: an inline SVG of stacked bars (requests by outcome per bucket), drawn with
 * DOM calls only (no markup parsing, no external asset, no inline style: colours come from the
 * stylesheet by class), and an accessible table with the same numbers behind it.
 * @module
 */
import { el } from './dom.js'

export interface Usage {
  window: '24h' | '30d'
  bucketMs: number
  outcomes: string[]
  points: { start: number; total: number; counts: Record<string, number> }[]
  recording: boolean
}

const SVG = 'http://www.w3.org/2000/svg'
const W = 720
const H = 160
const PAD = 24

function svg(tag: string, attrs: Record<string, string | number>): SVGElement {
  const e = document.createElementNS(SVG, tag)
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v))
  return e
}

/** The CSS class of an outcome's colour: `allowed`, or one of six deny colours by position. */
function tone(outcome: string, i: number): string {
  return outcome === 'allowed' ? 'o-allowed' : `o-deny${i % 6}`
}

function label(start: number, window: string): string {
  const iso = new Date(start).toISOString()
  return window === '24h' ? `${iso.slice(11, 13)}:00` : iso.slice(5, 10)
}

/** A figure holding the chart, its legend and its table. */
export function usageFigure(u: Usage, title: string): HTMLElement {
  const fig = el('figure', null, 'usage')
  const total = u.points.reduce((n, p) => n + p.total, 0)
  const cap = el('figcaption', `${title}: ${total} request${total === 1 ? '' : 's'}`)
  fig.appendChild(cap)
  const max = Math.max(1, ...u.points.map((p) => p.total))
  const chart = svg('svg', { viewBox: `0 0 ${W} ${H + PAD}`, role: 'img', class: 'chart', 'aria-label': `${title}: bar chart of requests by outcome; the table below has the numbers` })
  chart.appendChild(svg('line', { x1: 0, y1: H, x2: W, y2: H, class: 'axis' }))
  const bw = W / u.points.length
  u.points.forEach((p, i) => {
    let y = H
    u.outcomes.forEach((o, j) => {
      const c = p.counts[o] ?? 0
      if (c <= 0) return
      const h = Math.max(1, (c / max) * (H - 8))
      y -= h
      const r = svg('rect', { x: (i * bw + 1).toFixed(1), y: y.toFixed(1), width: Math.max(1, bw - 2).toFixed(1), height: h.toFixed(1), class: tone(o, j) })
      const t = svg('title', {})
      t.textContent = `${label(p.start, u.window)}: ${c} ${o}`
      r.appendChild(t)
      chart.appendChild(r)
    })
    if (i % (u.window === '24h' ? 6 : 5) === 0) {
      const t = svg('text', { x: (i * bw + 2).toFixed(1), y: H + 16, class: 'tick' })
      t.textContent = label(p.start, u.window)
      chart.appendChild(t)
    }
  })
  fig.appendChild(chart)
  const legend = el('ul', null, 'legend')
  u.outcomes.forEach((o, j) => {
    const li = el('li', null)
    li.append(el('span', null, `swatch ${tone(o, j)}`), el('span', o))
    legend.appendChild(li)
  })
  if (u.outcomes.length === 0) legend.appendChild(el('li', u.recording ? 'No requests in this window.' : 'Usage is not recorded by this server.', 'muted'))
  fig.appendChild(legend)
  fig.appendChild(usageTable(u, title))
  return fig
}

function usageTable(u: Usage, title: string): HTMLElement {
  const details = el('details', null, 'usage-table')
  details.appendChild(el('summary', `${title}: table`))
  const t = el('table') as HTMLTableElement
  t.appendChild(el('caption', `${title}, requests by outcome per ${u.window === '24h' ? 'hour' : 'day'} (UTC)`))
  const head = el('tr')
  head.appendChild(el('th', u.window === '24h' ? 'Hour' : 'Day'))
  for (const o of u.outcomes) head.appendChild(el('th', o))
  head.appendChild(el('th', 'Total'))
  head.querySelectorAll('th').forEach((th) => th.setAttribute('scope', 'col'))
  t.createTHead().appendChild(head)
  const body = t.createTBody()
  for (const p of u.points) {
    if (p.total === 0) continue
    const tr = el('tr')
    const th = el('th', label(p.start, u.window))
    th.setAttribute('scope', 'row')
    tr.appendChild(th)
    for (const o of u.outcomes) tr.appendChild(el('td', p.counts[o] ?? 0))
    tr.appendChild(el('td', p.total))
    body.appendChild(tr)
  }
  if (body.rows.length === 0) {
    const tr = el('tr')
    const td = el('td', 'No requests.') as HTMLTableCellElement
    td.colSpan = u.outcomes.length + 2
    tr.appendChild(td)
    body.appendChild(tr)
  }
  details.appendChild(t)
  return details
}
