/**
 * The BullMQ tests' Redis server: the generic helper of test/servers/redis.ts, kept at
 * this path for the BullMQ tests, benchmark and example that import it from here.
 */
export { freePort, requireRedisServer, startRedis, type RedisServer } from '../servers/redis.js';
