/**
 * The words of createNetPolicy's configuration errors that test/net/proxy.test.ts leaves open: a
 * null entry and a value that is not an array. (Its own file, so the net module's committed
 * mutation results, computed with test/net as it is, stay valid.)
 */
import { describe, expect, it } from 'vitest'
import { createNetPolicy } from '../../src/net/proxy.js'

describe('createNetPolicy: the words of its errors', () => {
  it('names a null entry as null, with its index', () => {
    expect(() => createNetPolicy(['10.0.0.0/8', null] as unknown as string[])).toThrow(TypeError)
    expect(() => createNetPolicy(['10.0.0.0/8', null] as unknown as string[])).toThrow(/^trustProxy\[1\]: must be a string, got null$/)
  })

  it('says a value that is not an array must be an array of addresses or CIDRs', () => {
    expect(() => createNetPolicy(null as unknown as string[])).toThrow(/^trustProxy: must be an array of IP addresses or CIDRs$/)
  })
})
