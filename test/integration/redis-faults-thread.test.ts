/** Redis under faults (see _redis-faults.ts), the bus's subscriber in `thread` mode. */
import { redisFaultSuite } from './_redis-faults.js'

redisFaultSuite('thread')
