/**
 * Runs `tsc` (the project's TypeScript) on explicit files or a project, in a child process.
 */
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../../', import.meta.url))

/** The strict compiler options of tsconfig.json, for a tsc run on explicit files. */
export const TSC_FLAGS = [
  '--noEmit', '--strict', '--noUncheckedIndexedAccess', '--verbatimModuleSyntax', '--isolatedModules',
  '--noImplicitOverride', '--target', 'es2022', '--module', 'esnext', '--moduleResolution', 'bundler',
  '--lib', 'es2023,dom,dom.iterable', '--types', 'node', '--skipLibCheck', '--esModuleInterop', '--pretty', 'false',
]

/** Exit code and output of `tsc <args>` run in `cwd`. */
export function tsc(args: readonly string[], cwd = root): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [`${root}node_modules/typescript/bin/tsc`, ...args], { cwd, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, output: `${stdout}${stderr}` })
    })
  })
}
