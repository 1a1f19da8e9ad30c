/**
 * Plumbing shared by the examples: listening on loopback, running standalone, handing demo keys
 * to curl without printing them, a self-signed certificate for HTTPS, and a store that can be
 * switched off (for the demo's 503). Nothing here is part of keyward's API.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { generate as generateCertificate } from 'selfsigned'
import type { AuthorizerOptions, DecisionEvent, KeyStore } from '../src/index.js'

/** Options every example's `start()` accepts. */
export interface StartOptions {
  /** Port to listen on; 0 picks a free one. @default 0 */
  port?: number
  /** Interface to listen on. @default '127.0.0.1' */
  host?: string
  /** Wraps the example's key store (the demo uses it to simulate an outage). @default identity */
  wrapStore?: (store: KeyStore) => KeyStore
  /** Receives one line per decision (key id, never the key). @default undefined (silent) */
  log?: (line: string) => void
  /** Adjusts the authorizer's options before it is created (the demo wires OpenTelemetry with it). @default identity */
  configure?: (options: AuthorizerOptions) => AuthorizerOptions
}

/** `authorizerOptions` as `options.configure` adjusts them. */
export function configured(options: StartOptions, authorizerOptions: AuthorizerOptions): AuthorizerOptions {
  return options.configure ? options.configure(authorizerOptions) : authorizerOptions
}

/** What every example's `start()` resolves to. */
export interface Started {
  /** Base URL of the server. */
  readonly url: string
  /**
   * The demo keys just issued to the in-memory store, by label. For the demo and tests only:
   * a real server never holds plaintext keys after issuing them.
   */
  readonly keys: Readonly<Record<string, string>>
  close(): Promise<void>
}

/** Listens and resolves to the URL (`http` or `https`). */
export function listen(server: Server, options: StartOptions, protocol: 'http' | 'https' = 'http'): Promise<string> {
  const host = options.host ?? '127.0.0.1'
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject)
      const { port } = server.address() as AddressInfo
      resolve(`${protocol}://${host.includes(':') ? `[${host}]` : host}:${port}`)
    })
  })
}

/**
 * Listens with `server` and returns what `start()` resolves to: closing stops the server, then
 * writes the authorizer's pending last-used times.
 */
export async function serve(server: Server, authorizer: { close(): Promise<void> }, keys: Started['keys'], options: StartOptions): Promise<Started> {
  const url = await listen(server, options)
  return {
    url,
    keys,
    close: async () => {
      await closeServer(server)
      await authorizer.close()
    },
  }
}

/** What an HTTPS-only example's `start()` resolves to. */
export interface TlsStarted extends Started {
  /** Plain-HTTP listener of the same app: every request there is 403 `insecure_transport`. */
  readonly httpUrl: string
  /** The self-signed certificate (PEM), for clients that verify it (`curl --cacert`). */
  readonly ca: string
}

/**
 * Listens with an HTTPS server and a plain-HTTP one serving the same app (the second on a free
 * port), and returns what `start()` resolves to: closing stops both, then the authorizer.
 */
export async function serveTls(https: Server, http: Server, ca: string, authorizer: { close(): Promise<void> }, keys: Started['keys'], options: StartOptions): Promise<TlsStarted> {
  const url = await listen(https, options, 'https')
  const httpUrl = await listen(http, { ...options, port: 0 })
  return {
    url,
    httpUrl,
    ca,
    keys,
    close: async () => {
      await Promise.all([closeServer(https), closeServer(http)])
      await authorizer.close()
    },
  }
}

/** Stops accepting, drops idle keep-alive connections, resolves when closed. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve())
    server.closeAllConnections()
  })
}

/** A one-line log of a decision: what an `onDecision` hook might write. */
export function decisionLine(e: DecisionEvent): string {
  const who = e.keyId === undefined ? '' : ` key=${e.keyId}`
  return `${e.method} ${e.path ?? ''} -> ${e.status}${e.allow ? '' : ` ${e.code} (${e.reason})`}${who}`
}

/** True when `moduleUrl` is the script being run (`tsx examples/express.ts`). */
export function isMain(moduleUrl: string): boolean {
  const script = process.argv[1]
  if (script === undefined) return false
  const self = fileURLToPath(moduleUrl)
  return self === script || self.replace(/\.ts$/, '') === script.replace(/\.ts$/, '')
}

/**
 * Writes demo secrets to private files (mode 0600) in a fresh temp dir, so printed curl commands
 * read them with `$(cat …)` and no key ever appears on the terminal or in logs.
 */
export class SecretFiles {
  readonly dir = mkdtempSync(join(tmpdir(), 'keyward-example-'))
  /** Writes `value` to `<dir>/<name>` and returns a shell snippet that reads it. */
  put(name: string, value: string): string {
    const file = join(this.dir, name)
    writeFileSync(file, value, { mode: 0o600 })
    chmodSync(file, 0o600)
    return `$(cat ${file})`
  }
  remove(): void {
    rmSync(this.dir, { recursive: true, force: true })
  }
}

/**
 * Runs an example as a script: starts it on PORT (or a free port), prints how to call it, logs
 * decisions, and shuts down cleanly on Ctrl-C.
 */
export async function runStandalone(
  name: string,
  start: (o: StartOptions) => Promise<Started>,
  curls: (s: Started, secrets: SecretFiles) => string[],
): Promise<void> {
  const started = await start({ port: Number(process.env.PORT ?? 0), log: (l) => console.log(`  [decision] ${l}`) })
  const secrets = new SecretFiles()
  console.log(`${name} listening on ${started.url}\n`)
  console.log('Demo keys were issued to the in-memory store and saved (mode 0600) under')
  console.log(`${secrets.dir}; the commands below read them from there.\n`)
  for (const line of curls(started, secrets)) console.log(line)
  console.log('\nCtrl-C to stop.')
  const stop = () => {
    secrets.remove()
    void started.close().then(() => process.exit(0))
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

/** A store wrapper the demo can switch off: while `down`, every call rejects (as a dead database would). */
export function switchableStore(): { wrap: (s: KeyStore) => KeyStore; down: boolean } {
  const control = {
    down: false,
    wrap(s: KeyStore): KeyStore {
      const guard = <A extends unknown[], R>(fn: ((...a: A) => Promise<R>) | undefined) =>
        fn === undefined ? undefined : (...a: A): Promise<R> => (control.down ? Promise.reject(new Error('store offline')) : fn.apply(s, a))
      return {
        findByHash: guard(s.findByHash)!,
        ...(s.findGroup ? { findGroup: guard(s.findGroup) } : {}),
        ...(s.findOwner ? { findOwner: guard(s.findOwner) } : {}),
      }
    },
  }
  return control
}

/** A self-signed certificate for 127.0.0.1/localhost, PEM-encoded. */
export interface SelfSigned {
  readonly key: string
  readonly cert: string
}

/**
 * Generates a throwaway P-256 key and a self-signed certificate (1 day, SAN 127.0.0.1 and
 * localhost) in-process, with Node's WebCrypto (through `selfsigned`): no `openssl` command
 * needed, nothing written to disk.
 */
export async function selfSignedCertificate(): Promise<SelfSigned> {
  const notBeforeDate = new Date(Date.now() - 60_000)
  const notAfterDate = new Date(notBeforeDate.getTime() + 24 * 3600_000)
  const pems = await generateCertificate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }] },
    ],
  })
  return { key: pems.private, cert: pems.cert }
}
