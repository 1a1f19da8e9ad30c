/**
 * Run as a child process by `redis-hostile.test.ts`: attaches a worker-subscriber bus, lets go of
 * the client and never closes the bus. The process must still exit by itself: the worker is
 * unref()ed. Prints `attached worker` once attached.
 */
import { Redis } from 'ioredis'
import { redisInvalidation } from '../../src/redis/index.js'

const redis = new Redis(process.argv[2]!, { maxRetriesPerRequest: 1 })
const bus = redisInvalidation(redis, { subscriber: 'worker', heartbeatMs: 0 })
await bus.attach({ invalidate: () => undefined, clear: () => undefined })
console.log(`attached ${bus.subscriber}`)
redis.disconnect()
