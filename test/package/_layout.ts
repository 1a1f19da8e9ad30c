/**
 * The source layout rules, as pure functions over file texts so that the test can run them on
 * the real `src/` and on planted violations alike:
 * - a `_file.ts` is private to its folder: only files of the same folder import it;
 * - no source file is longer than {@link MAX_FILE_LINES} lines;
 * - no function (declaration, method, arrow or expression with a body) is longer than
 *   {@link MAX_FUNCTION_LINES} lines.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { basename, join, posix, relative, sep } from 'node:path'
import ts from 'typescript'

/** Longest source file, in lines. */
export const MAX_FILE_LINES = 400
/** Longest function, in lines (from its first line to its closing brace). */
export const MAX_FUNCTION_LINES = 80

/** Source texts by path relative to the source root, with `/` separators (`core/engine.ts`). */
export type Sources = ReadonlyMap<string, string>

/** Every `.ts` file under `dir`, read. */
export function readSources(dir: string): Map<string, string> {
  const out = new Map<string, string>()
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name)
      if (entry.isDirectory()) walk(path)
      else if (entry.name.endsWith('.ts')) out.set(relative(dir, path).split(sep).join('/'), readFileSync(path, 'utf8'))
    }
  }
  walk(dir)
  return out
}

/**
 * Imports of another folder's `_` file: `importer -> target`. Static imports, `export … from`,
 * `import type` and dynamic `import()` all count (TypeScript's own pre-processor finds them).
 */
export function privateImportViolations(sources: Sources): string[] {
  const found: string[] = []
  for (const [file, text] of sources) {
    for (const { fileName: spec } of ts.preProcessFile(text, true, true).importedFiles) {
      if (!spec.startsWith('.')) continue
      const target = posix.normalize(posix.join(posix.dirname(file), spec))
      if (basename(target).startsWith('_') && posix.dirname(target) !== posix.dirname(file)) found.push(`${file} -> ${target}`)
    }
  }
  return found.sort()
}

/** Files over {@link MAX_FILE_LINES} lines, not in `allowed`: `file: N lines`. */
export function oversizedFiles(sources: Sources, allowed: ReadonlySet<string>): string[] {
  const found: string[] = []
  for (const [file, text] of sources) {
    const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0)
    if (lines > MAX_FILE_LINES && !allowed.has(file)) found.push(`${file}: ${lines} lines`)
  }
  return found.sort()
}

/** Functions over {@link MAX_FUNCTION_LINES} lines, as `file#name`, not in `allowed`: `file#name: N lines`. */
export function longFunctions(sources: Sources, allowed: ReadonlySet<string>): string[] {
  const found: string[] = []
  for (const [file, text] of sources) {
    const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true)
    const visit = (node: ts.Node): void => {
      if (ts.isFunctionLike(node) && 'body' in node && node.body !== undefined) {
        const first = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line
        const last = sf.getLineAndCharacterOfPosition(node.getEnd()).line
        const id = `${file}#${functionName(node)}`
        if (last - first + 1 > MAX_FUNCTION_LINES && !allowed.has(id)) found.push(`${id}: ${last - first + 1} lines`)
      }
      ts.forEachChild(node, visit)
    }
    visit(sf)
  }
  return found.sort()
}

/** A function's name, or that of the variable or property it is assigned to, or `(anonymous)`. */
function functionName(node: ts.Node): string {
  const named = node as { name?: ts.Node }
  if (named.name !== undefined) return named.name.getText()
  const parent = node.parent
  if (parent !== undefined && (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent))) return parent.name.getText()
  return '(anonymous)'
}
