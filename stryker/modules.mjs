/**
 * The security modules under mutation testing: what each one mutates and the narrowest test
 * files that specify it. Globs are by folder or name stem, so a file split in two stays covered.
 */
export const THRESHOLD = 90

/** @type {Record<string, { mutate: string[]; tests: string[] }>} */
export const MODULES = {
  net: {
    mutate: ['src/net/**/*.ts'],
    tests: ['test/net/*.test.ts', 'test/core/proxy.test.ts', 'test/core/peer-cache.test.ts'],
  },
  schemes: {
    mutate: [
      'src/schemes/_grammar*.ts',
      'src/schemes/_key-shape*.ts',
      'src/schemes/_scheme*.ts',
      'src/schemes/{api-key,basic,bearer,contrast,rest-api-key,index}.ts',
      'src/core/_extract*.ts',
      'src/lib/headers*.ts',
    ],
    tests: [
      'test/core/schemes.test.ts',
      'test/core/grammar.test.ts',
      'test/core/extract.test.ts',
      'test/jwt/extract.test.ts',
      'test/core/headers.test.ts',
      'test/core/contrast-half.test.ts',
      'test/core/decisions.test.ts',
      'test/core/properties.test.ts',
      // What specifies _key-shape: a public or private key is never taken as an HMAC secret.
      'test/jwt/hmac-key-confusion.test.ts',
    ],
  },
  core: {
    // src/core/_extract.ts is the schemes module's (one credential per request).
    mutate: ['src/core/**/*.ts', '!src/core/_extract*.ts', 'src/authorize*.ts'],
    tests: [
      'test/core/authorizer.test.ts',
      'test/core/decisions.test.ts',
      'test/core/deny-table.test.ts',
      'test/core/records.test.ts',
      'test/core/corrupt-records.test.ts',
      'test/core/tenant-groups.test.ts',
      'test/core/headers.test.ts',
      'test/core/store-gate.test.ts',
      'test/core/tenant.test.ts',
      'test/core/products.test.ts',
      'test/core/contrast-half.test.ts',
      'test/core/options.test.ts',
      'test/core/pair-lookups.test.ts',
      'test/core/store-gate-order.test.ts',
      'test/core/request-path.test.ts',
      'test/core/authorizer-options.test.ts',
      'test/core/route-needs.test.ts',
      'test/core/last-used.test.ts',
      'test/resilience/record-faults.test.ts',
      'test/resilience/outage.test.ts',
      'test/resilience/limiter-answers.test.ts',
      'test/core/record-checks.test.ts',
      'test/core/decision-events.test.ts',
      'test/core/rate-limit-answers.test.ts',
      'test/core/tenant-gate.test.ts',
      'test/core/deny-challenges.test.ts',
      'test/core/corrupt-grants-owners.test.ts',
      'test/core/credit-answers.test.ts',
      'test/core/token-subjects.test.ts',
      'test/core/compiled-records.test.ts',
      'test/core/shown-roles.test.ts',
      'test/core/owner-access.test.ts',
      'test/core/credits.test.ts',
    ],
  },
  'roles-keys': {
    mutate: ['src/roles*.ts', 'src/_roles*.ts', 'src/keys/**/*.ts', '!src/keys/_noble-cjs.ts'],
    tests: [
      'test/core/roles.test.ts',
      'test/core/roles-define.test.ts',
      'test/core/keys.test.ts',
      'test/resilience/hash.test.ts',
      'test/core/matrix.test.ts',
    ],
  },
  cached: {
    mutate: ['src/stores/cached*.ts', 'src/stores/_cache*.ts', 'src/stores/_lookup*.ts'],
    tests: [
      'test/resilience/cached-*.test.ts',
      'test/resilience/peek.test.ts',
      'test/resilience/revoke-race.test.ts',
    ],
  },
}
