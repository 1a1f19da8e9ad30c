// Imports the module named on the command line (a path relative to the repository root).
import { pathToFileURL } from 'node:url'

await import(pathToFileURL(process.argv[2] ?? '').href)
