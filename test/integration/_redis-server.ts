/**
 * A private redis-server for fault injection (pause, SIGSTOP, kill, restart), so that no other
 * suite shares the server being broken. Started from the `redis-server` binary that
 * `.ci/servers.sh` installs, on a free loopback port, with nothing persisted.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import net from 'node:net'
import { Redis } from 'ioredis'

/** Whether a `redis-server` binary can be run here. */
export const HAVE_REDIS_SERVER = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port
      s.close(() => resolve(port))
    })
  })
}

export interface PrivateRedis {
  url: string
  /** The server's process id (changes on restart). */
  readonly pid: number
  /** SIGSTOP: the server keeps its sockets open and answers nothing. */
  hang(): void
  /** SIGCONT after `hang()`. */
  resume(): void
  /** SIGKILL, and wait until it is gone. */
  kill(): Promise<void>
  /** Starts it again on the same port (after `kill()`). */
  start(): Promise<void>
  stop(): Promise<void>
}

export async function privateRedis(extraArgs: string[] = []): Promise<PrivateRedis> {
  const port = await freePort()
  let child: ChildProcess | undefined
  const url = `redis://127.0.0.1:${port}/0`
  const start = async (): Promise<void> => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extraArgs], { stdio: 'ignore' })
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null })
    probe.on('error', () => undefined)
    try {
      for (let i = 0; i < 200; i++) {
        try {
          await probe.connect()
          if ((await probe.ping()) === 'PONG') return
        } catch {
          probe.disconnect()
          await new Promise((r) => setTimeout(r, 25))
        }
      }
      throw new Error('private redis-server did not start')
    } finally {
      probe.disconnect()
    }
  }
  const kill = async (): Promise<void> => {
    const c = child
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return
    const gone = new Promise((r) => c.once('exit', r))
    c.kill('SIGCONT')
    c.kill('SIGKILL')
    await gone
  }
  await start()
  return {
    url,
    get pid() {
      return child!.pid!
    },
    hang: () => void child!.kill('SIGSTOP'),
    resume: () => void child!.kill('SIGCONT'),
    kill,
    start,
    stop: kill,
  }
}
