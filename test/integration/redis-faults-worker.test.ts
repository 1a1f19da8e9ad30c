/** Redis under faults (see _redis-faults.ts), the bus's subscriber in `worker` mode. */
import { redisFaultSuite } from './_redis-faults.js'

redisFaultSuite('worker')
