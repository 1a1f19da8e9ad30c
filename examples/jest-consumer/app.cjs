// The application under test. It receives its authorizer, so that production passes one built
// on the real store and the tests pass the testing kit's.
const express = require('express')
const { guard } = require('keyward/express')

function buildApp(authorizer) {
  const requireKey = guard(authorizer)
  const app = express()
  app.get('/scans', requireKey('scans:read'), (req, res) => {
    res.json({ scans: [], owner: req.principal.owner })
  })
  app.post('/scans', requireKey('scans:manage'), (req, res) => {
    res.status(201).json({ id: 'scan-1' })
  })
  return app
}

module.exports = { buildApp }
