/** A real Debian `redis-server` on loopback for the scale-out tests: the repository's one launcher. */
export { freePort, type RedisServer, startRedis } from '../../scripts/redis.mjs';
