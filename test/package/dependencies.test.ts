/**
 * Every dependency package.json declares is used: each runtime dependency and peer by `src/`, and
 * each dev dependency by the repository's code (an import, a `require`, a plugin or a config naming
 * it in quotes, a path into `node_modules/<name>/`) or by an npm script that runs its command. An
 * `@types/x` package is used when `x` is (`@types/node` always). A dependency nobody uses is weight for every `npm ci` and a supply
 * chain to trust for nothing.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { packageJson, ROOT } from './_entries.js'

const pkg = packageJson()

/** This file, whose examples name packages nothing uses. */
const SELF = 'test/package/dependencies.test.ts'

/** The tracked code and configuration, but package.json, the lockfile, prose, mutation results and this file. */
function trackedCode(under: readonly string[] = []): Map<string, string> {
  const files = execFileSync('git', ['ls-files', '-z', '--', ...under], { cwd: ROOT, encoding: 'utf8' }).split('\0')
  const code = files.filter((f) => /\.(c|m)?(t|j)s$|\.json$|\.sh$/.test(f) && !/(^|\/)package(-lock)?\.json$/.test(f) && !f.startsWith('stryker/incremental/') && f !== SELF)
  return new Map(code.map((f) => [f, readFileSync(join(ROOT, f), 'utf8')]))
}

/** Whether `text` names `name` as a module specifier (`'name'`, `"name"`, a subpath `'name/…'`) or a path into it (`node_modules/name/…`). */
function names(text: string, name: string): boolean {
  return [`'${name}'`, `"${name}"`, `'${name}/`, `"${name}/`, `node_modules/${name}/`].some((q) => text.includes(q))
}

/** The command names the npm scripts run (`tsx scripts/build.ts` → `tsx`, `KEY=1 vitest run` → `vitest`). */
function scriptCommands(): Set<string> {
  const commands = new Set<string>()
  for (const script of Object.values(pkg.scripts ?? {})) {
    for (const step of script.split(/&&|\|\||;/)) {
      const words = step.trim().split(/\s+/).filter((w) => !/^\w+=/.test(w))
      if (words[0] !== undefined) commands.add(words[0] === 'npx' ? (words[1] ?? '') : words[0])
    }
  }
  return commands
}

/** The names in `declared` that nothing in `code` (nor, for dev dependencies, a script) uses. */
function unused(declared: readonly string[], code: Map<string, string>, commands: ReadonlySet<string> = new Set()): string[] {
  const texts = [...code.values()]
  const used = (name: string): boolean => {
    if (name === '@types/node') return true
    const typed = /^@types\/(.+)$/.exec(name)?.[1]
    // @types/x is for x; a scoped x is written @types/scope__x.
    if (typed !== undefined) return used(typed.includes('__') ? `@${typed.replace('__', '/')}` : typed)
    return commands.has(name) || texts.some((t) => names(t, name))
  }
  return declared.filter((name) => !used(name))
}

describe('declared dependencies', () => {
  it('uses every runtime dependency and peer dependency in src/', () => {
    const declared = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})]
    expect(declared.length).toBeGreaterThan(3)
    expect(unused(declared, trackedCode(['src']))).toEqual([])
  })

  it('uses every dev dependency in the repository or an npm script', () => {
    const declared = Object.keys(pkg.devDependencies ?? {})
    expect(declared.length).toBeGreaterThan(10)
    expect(unused(declared, trackedCode(), scriptCommands())).toEqual([])
  })

  it('notices a dependency nothing uses (the check is not vacuous)', () => {
    const code = new Map([['a.ts', "import { x } from 'used-one'\nimport 'scoped/used/sub'\n"]])
    expect(unused(['used-one', 'scoped', 'unused-one', '@types/used-one', '@types/other'], code)).toEqual(['unused-one', '@types/other'])
    expect(unused(['tsx', 'typedoc'], new Map(), new Set(['tsx']))).toEqual(['typedoc'])
  })
})
