/**
 * Every link between the documents resolves: the README, docs/ and the other top-level Markdown
 * files link to files that exist, and to headings (`#anchor`, GitHub's slugs) that those files
 * have. A section moved from one page to another cannot leave a dead link behind.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, normalize, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT } from '../package/_entries.js'

function markdownFiles(): string[] {
  const out = readdirSync(ROOT).filter((n) => n.endsWith('.md')).map((n) => join(ROOT, n))
  const walk = (dir: string): void => {
    for (const n of readdirSync(dir)) {
      const p = join(dir, n)
      if (statSync(p).isDirectory()) walk(p)
      else if (n.endsWith('.md')) out.push(p)
    }
  }
  walk(join(ROOT, 'docs'))
  return out
}

/** GitHub's heading anchor: lower case, punctuation but `-` and `_` dropped, spaces to `-`. */
function slug(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}_\- ]/gu, '').replace(/ /g, '-')
}

/** The text outside fenced code blocks. */
function prose(text: string): string[] {
  let fenced = false
  return text.split('\n').filter((l) => (l.startsWith('```') ? ((fenced = !fenced), false) : !fenced))
}

function anchors(file: string): Set<string> {
  return new Set(prose(readFileSync(file, 'utf8')).flatMap((l) => /^#+ (.*)$/.exec(l)?.slice(1).map(slug) ?? []))
}

const files = markdownFiles()
const broken: string[] = []
for (const file of files) {
  for (const line of prose(readFileSync(file, 'utf8'))) {
    for (const [, target = ''] of line.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/i.test(target)) continue
      const [path = '', anchor] = target.split('#')
      const dest = path === '' ? file : normalize(join(dirname(file), path))
      const where = `${relative(ROOT, file)}: ${target}`
      if (!existsSync(dest)) broken.push(`${where} (no such file)`)
      else if (anchor !== undefined && dest.endsWith('.md') && !anchors(dest).has(anchor)) broken.push(`${where} (no such heading)`)
    }
  }
}

describe('links in the documentation', () => {
  it('are checked in the README and every page of docs/', () => {
    expect(files.map((f) => relative(ROOT, f))).toEqual(expect.arrayContaining(['README.md', join('docs', 'concepts.md'), join('docs', 'products', 'contrast.md')]))
  })

  it('all resolve to a file, and to a heading of it', () => {
    expect(broken).toEqual([])
  })
})
