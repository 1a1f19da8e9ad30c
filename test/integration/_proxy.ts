/**
 * A loopback TCP proxy in front of a real server, to make it fail on demand without touching
 * the server the other suites share:
 * - `down()`: every connection is reset and the port refuses new ones (a crashed server);
 * - `blackhole()`: connections are accepted but nothing gets through either way (a hung server,
 *   a dead network path: the worst case, since no error ever arrives);
 * - `heal()`: back to normal; connections that saw a blackhole are reset (bytes were dropped).
 */
import net from 'node:net'

export interface Proxy {
  readonly port: number
  /** `url` with its host and port replaced by the proxy's. */
  via(url: string): string
  down(): Promise<void>
  blackhole(): void
  heal(): Promise<void>
  /** Resets every open connection (the server side stays up). */
  cut(): void
  close(): Promise<void>
  /** Connections accepted so far. */
  readonly accepted: number
}

export async function startProxy(target: string): Promise<Proxy> {
  const t = new URL(target)
  const host = t.hostname
  const targetPort = Number(t.port)
  const sockets = new Set<net.Socket>()
  let holes = false
  let accepted = 0
  let server: net.Server | undefined

  const onConnection = (client: net.Socket): void => {
    accepted++
    const upstream = net.connect(targetPort, host)
    sockets.add(client)
    sockets.add(upstream)
    const done = (): void => {
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
    }
    client.on('error', done).on('close', done)
    upstream.on('error', done).on('close', done)
    client.on('data', (d) => {
      if (!holes) upstream.write(d)
    })
    upstream.on('data', (d) => {
      if (!holes) client.write(d)
    })
  }

  const listen = (port: number): Promise<number> =>
    new Promise((resolve, reject) => {
      const s = net.createServer(onConnection)
      s.once('error', reject)
      s.listen(port, '127.0.0.1', () => {
        server = s
        resolve((s.address() as net.AddressInfo).port)
      })
    })

  const stopListening = (): Promise<void> =>
    new Promise((resolve) => {
      const s = server
      server = undefined
      if (s === undefined) return resolve()
      s.close(() => resolve())
    })

  const cut = (): void => {
    for (const s of sockets) s.resetAndDestroy()
    sockets.clear()
  }

  const port = await listen(0)
  return {
    port,
    via(url: string): string {
      const u = new URL(url)
      u.hostname = '127.0.0.1'
      u.port = String(port)
      return u.toString()
    },
    async down() {
      holes = false
      cut()
      await stopListening()
    },
    blackhole() {
      holes = true
    },
    async heal() {
      if (holes) cut()
      holes = false
      if (server === undefined) await listen(port)
    },
    cut,
    async close() {
      cut()
      await stopListening()
    },
    get accepted() {
      return accepted
    },
  }
}
