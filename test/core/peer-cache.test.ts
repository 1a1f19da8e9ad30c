/**
 * The peer address a NetPolicy resolves is cached for the next request from the same peer (one
 * entry), so the object is shared between requests: it must be frozen, or code that changes one
 * request's client address would change it for every later request on that connection.
 */
import { describe, expect, it } from 'vitest'
import { createNetPolicy } from '../../src/net/proxy.js'

describe('the cached peer address', () => {
  it.each([
    ['without a trusted proxy', createNetPolicy(undefined)],
    ['behind a trusted proxy', createNetPolicy(['10.0.0.0/8'])],
  ])('is frozen, with its address, and the same for the next request from that peer (%s)', (_, net) => {
    const first = net.clientAddress('203.0.113.5', undefined)
    expect(Object.isFrozen(first)).toBe(true)
    expect(Object.isFrozen(first.addr)).toBe(true)
    expect(() => {
      ;(first as { text: string }).text = '10.0.0.1'
    }).toThrow(TypeError)
    expect(net.clientAddress('203.0.113.5', undefined)).toEqual({ addr: first.addr, text: '203.0.113.5' })
  })

  it('is frozen for an IPv6 peer with a zone, which loses its zone', () => {
    const net = createNetPolicy(undefined)
    const c = net.clientAddress('fe80::1%eth0', undefined)
    expect(c.text).toBe('fe80::1')
    expect(Object.isFrozen(c) && Object.isFrozen(c.addr)).toBe(true)
  })

  it('answers an unknown peer as unresolved, frozen too', () => {
    const net = createNetPolicy(undefined)
    const c = net.clientAddress('not an address', undefined)
    expect(c.addr).toBeUndefined()
    expect(Object.isFrozen(c)).toBe(true)
  })
})
