// Jest for CommonJS tests (`require('keyward/testing')`) that use JWT.
//
// Without JWT no configuration is needed. keyward's JWT support loads jose, an ES module only
// (and, where no native hash exists, @noble/hashes). Node >= 20.19 can require() ES modules, but
// Jest has its own module loader, which cannot before Node 24.9. So Jest compiles those packages
// to CommonJS, with babel-jest (Jest's own default transformer) and one Babel plugin. Everything
// else in node_modules is left alone.
/** @type {import('jest').Config} */
module.exports = {
  testMatch: ['<rootDir>/test/**/*.test.cjs'],
  transform: {
    '\\.[cm]?js$': ['babel-jest', { plugins: ['@babel/plugin-transform-modules-commonjs'] }],
  },
  transformIgnorePatterns: ['/node_modules/(?!(jose|@noble/hashes)/)'],
}
