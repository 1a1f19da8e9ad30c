// Registers resolve hooks that append every resolved module URL to the file named by
// KEYWARD_LOAD_LOG. Used with `node --import tsx --import ./register.mjs` to see what a module
// graph really loads.
import { register } from 'node:module'

register('./hooks.mjs', import.meta.url, { data: { out: process.env.KEYWARD_LOAD_LOG } })
