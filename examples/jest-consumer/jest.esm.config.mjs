// Jest for native ESM tests (`import … from 'keyward/testing'`), run with
// `node --experimental-vm-modules node_modules/jest/bin/jest.js --config jest.esm.config.mjs`.
// Nothing is compiled: Jest loads keyward's ESM build, jose and @noble/hashes as they are.
/** @type {import('jest').Config} */
export default {
  testMatch: ['<rootDir>/test/**/*.test.mjs'],
  transform: {},
}
