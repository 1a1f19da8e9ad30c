// Consumers who compile with exactOptionalPropertyTypes pass an environment variable that may be
// undefined straight into the documented options (README: `pepper: process.env.KEYWARD_PEPPER`).
import { createAuthorizer, KeyManager, MemoryKeyStore } from '../../src/index.js'

const store = new MemoryKeyStore()
export const manager = new KeyManager(store, { pepper: process.env.KEYWARD_PEPPER })
export const authorizer = createAuthorizer({ store, pepper: process.env.KEYWARD_PEPPER })
