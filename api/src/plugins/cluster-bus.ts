/**
 * What one API instance tells the others through Redis pub/sub, so several instances behind
 * nginx behave like one:
 * - a user changed (deactivated, role, password): every instance evicts its cached principal at
 *   once instead of after the cache's TTL;
 * - the worklist change sequence advanced: every instance's ChangeSequence (the worklist page
 *   cache and its live nudges) learns it at once instead of at its next read of the counter;
 * - a session ended (logout): every instance refuses its access token at once. Revoked sessions
 *   are also kept in a sorted set (score: when the last token expires), read by every instance
 *   when its subscription (re)connects, so one that starts or reconnects later knows them too.
 * Messages carry ids and numbers only, never patient data. Without Redis this plugin does nothing.
 */
import { randomUUID } from 'node:crypto';
import fp from 'fastify-plugin';
import { changeSequenceOf } from '../worklist/change-feed';

export const CLUSTER_CHANNEL = 'pacs:api:cluster';
export const REVOKED_SESSIONS_KEY = 'pacs:api:revoked-sessions';

type ClusterMessage = { from: string } & (
  | { type: 'user-changed'; userId: string | null }
  | { type: 'worklist-advanced'; seq: number }
  | { type: 'session-revoked'; sessionId: string; until: number }
);

function parseMessage(raw: string): ClusterMessage | null {
  try {
    const m = JSON.parse(raw) as Partial<ClusterMessage> & Record<string, unknown>;
    if (typeof m.from !== 'string') return null;
    if (m.type === 'user-changed' && (typeof m.userId === 'string' || m.userId === null)) return m as ClusterMessage;
    if (m.type === 'worklist-advanced' && typeof m.seq === 'number' && Number.isSafeInteger(m.seq)) return m as ClusterMessage;
    if (m.type === 'session-revoked' && typeof m.sessionId === 'string' && Number.isSafeInteger(m.until)) return m as ClusterMessage;
    return null;
  } catch {
    return null;
  }
}

export default fp(
  async (app) => {
    const redis = app.redis;
    if (!redis) return;
    const instance = randomUUID();
    const changes = changeSequenceOf(app.db.models);
    const publish = (message: ClusterMessage) => {
      redis.publish(CLUSTER_CHANNEL, JSON.stringify(message)).catch(() => {
        // Redis away: the others fall back to the principal TTL and their own counter reads.
      });
    };

    app.sessionRevocations.onRevoke((sessionId, until) => {
      redis
        .multi()
        .zadd(REVOKED_SESSIONS_KEY, until, sessionId)
        .zremrangebyscore(REVOKED_SESSIONS_KEY, '-inf', Date.now())
        .exec()
        .catch(() => {
          // Redis away: the others learn it from the database when they restart.
        });
      publish({ from: instance, type: 'session-revoked', sessionId, until });
    });
    const loadRevokedSessions = async () => {
      const flat = await redis.zrangebyscore(REVOKED_SESSIONS_KEY, Date.now(), '+inf', 'WITHSCORES');
      for (let i = 0; i + 1 < flat.length; i += 2) app.sessionRevocations.remember(flat[i]!, Number(flat[i + 1]));
    };
    // Read on every (re)connection of either link: what was missed while away is in the set.
    const reloadRevokedSessions = () => {
      loadRevokedSessions().catch(() => {});
    };
    redis.on('ready', reloadRevokedSessions);
    if (redis.status === 'ready') reloadRevokedSessions();

    let applyingRemote = false;
    app.principals.onCommittedChange((userId) => publish({ from: instance, type: 'user-changed', userId }));
    changes.onAdvance((seq) => {
      if (!applyingRemote) publish({ from: instance, type: 'worklist-advanced', seq });
    });

    // Subscriber mode needs its own connection, and it must queue SUBSCRIBE until connected.
    const subscriber = redis.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null, connectionName: 'pacs-api-sub' });
    subscriber.on('error', () => {
      // reported by the main connection's handler; ioredis reconnects and resubscribes
    });
    subscriber.on('message', (_channel: string, raw: string) => {
      const message = parseMessage(raw);
      if (!message || message.from === instance) return;
      if (message.type === 'session-revoked') {
        app.sessionRevocations.remember(message.sessionId, message.until);
      } else if (message.type === 'user-changed') {
        if (message.userId) app.principals.evict(message.userId);
        else app.principals.clear();
      } else {
        applyingRemote = true;
        try {
          changes.committed(message.seq);
        } finally {
          applyingRemote = false;
        }
      }
    });
    // Subscribed first, then read: a revocation is either in the set or arrives as a message.
    subscriber.on('ready', () => {
      subscriber
        .subscribe(CLUSTER_CHANNEL)
        .then(reloadRevokedSessions)
        .catch(() => {});
    });
    // Not awaited: an API whose Redis is down still starts (and subscribes when Redis is back).
    subscriber.subscribe(CLUSTER_CHANNEL).catch(() => {});
    app.addHook('onClose', async () => {
      redis.off('ready', reloadRevokedSessions);
      subscriber.disconnect();
    });
  },
  { name: 'cluster-bus', dependencies: ['redis', 'access-control'] },
);
