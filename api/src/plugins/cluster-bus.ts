/**
 * What one API instance tells the others through Redis pub/sub, so several instances behind
 * nginx behave like one:
 * - a user changed (deactivated, role, password): every instance evicts its cached principal at
 *   once instead of after the cache's TTL;
 * - the worklist change sequence advanced: every instance's ChangeSequence (the worklist page
 *   cache and its live nudges) learns it at once instead of at its next read of the counter.
 * Messages carry ids and numbers only, never patient data. Without Redis this plugin does nothing.
 */
import { randomUUID } from 'node:crypto';
import fp from 'fastify-plugin';
import { changeSequenceOf } from '../worklist/change-feed';

export const CLUSTER_CHANNEL = 'pacs:api:cluster';

type ClusterMessage = { from: string } & ({ type: 'user-changed'; userId: string | null } | { type: 'worklist-advanced'; seq: number });

function parseMessage(raw: string): ClusterMessage | null {
  try {
    const m = JSON.parse(raw) as Partial<ClusterMessage> & Record<string, unknown>;
    if (typeof m.from !== 'string') return null;
    if (m.type === 'user-changed' && (typeof m.userId === 'string' || m.userId === null)) return m as ClusterMessage;
    if (m.type === 'worklist-advanced' && typeof m.seq === 'number' && Number.isSafeInteger(m.seq)) return m as ClusterMessage;
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
      if (message.type === 'user-changed') {
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
    // Not awaited: an API whose Redis is down still starts (and subscribes when Redis is back).
    subscriber.subscribe(CLUSTER_CHANNEL).catch(() => {});
    app.addHook('onClose', async () => {
      subscriber.disconnect();
    });
  },
  { name: 'cluster-bus', dependencies: ['redis', 'access-control'] },
);
