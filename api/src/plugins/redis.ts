/**
 * The Redis connection several API instances share (PACS_REDIS_URL), or null for one instance.
 * Commands fail fast while Redis is away (no offline queue), so a Redis outage degrades what uses
 * it (the shared login rate limit is skipped, cache eviction falls back to its TTL) instead of
 * stalling requests.
 */
import fp from 'fastify-plugin';
import { Redis } from 'ioredis';

declare module 'fastify' {
  interface FastifyInstance {
    redis: Redis | null;
  }
}

export default fp(
  async (app) => {
    const url = app.config.redisUrl;
    if (!url) {
      app.decorate('redis', null);
      return;
    }
    const redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectionName: 'pacs-api' });
    let down = false;
    redis.on('error', (error: Error) => {
      if (!down) app.log.warn({ err: { message: error.message } }, 'Redis unavailable: instances do not share rate limits and evictions');
      down = true;
    });
    redis.on('ready', () => {
      if (down) app.log.info('Redis reachable again');
      down = false;
    });
    app.decorate('redis', redis);
    app.addHook('onClose', async () => {
      redis.disconnect();
    });
  },
  { name: 'redis' },
);
