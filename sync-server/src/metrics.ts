/**
 * Prometheus metrics (OPS-2). Label values are fixed vocabularies, never document names or user ids.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Counts bumped on every message, as plain numbers: prom-client reads them when scraped. A labelled
 * prom-client inc() per message cost about as much as the authorisation of the message.
 */
export interface HotCounts {
  updates: number;
  unpersistedUpdates: number;
  messages: Record<'sync-step1' | 'sync-update' | 'awareness' | 'query-awareness', number>;
}

export function createMetrics() {
  const registry = new Registry();
  const counts: HotCounts = {
    updates: 0,
    unpersistedUpdates: 0,
    messages: { 'sync-step1': 0, 'sync-update': 0, awareness: 0, 'query-awareness': 0 },
  };
  collectDefaultMetrics({ register: registry, prefix: 'pacs_sync_' });
  const registers = [registry];
  return {
    registry,
    counts,
    connections: new Gauge({ name: 'pacs_sync_connections', help: 'open, authorised WebSocket connections', registers }),
    connectionsRejected: new Counter({
      name: 'pacs_sync_connections_rejected_total',
      help: 'connections refused or closed by the server, by reason',
      labelNames: ['reason'] as const,
      registers,
    }),
    documentsLoaded: new Gauge({ name: 'pacs_sync_documents_loaded', help: 'documents held in memory', registers }),
    updates: new Counter({
      name: 'pacs_sync_updates_total',
      help: 'document updates applied (rate() gives updates/s)',
      registers,
      collect() {
        this.reset();
        this.inc(counts.updates);
      },
    }),
    messages: new Counter({
      name: 'pacs_sync_messages_total',
      help: 'WebSocket messages received',
      labelNames: ['type'] as const,
      registers,
      collect() {
        this.reset();
        for (const [type, n] of Object.entries(counts.messages)) this.inc({ type }, n);
      },
    }),
    persistDuration: new Histogram({
      name: 'pacs_sync_persist_duration_seconds',
      help: 'latency of store operations',
      labelNames: ['op'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    persistFailures: new Counter({
      name: 'pacs_sync_persist_failures_total',
      help: 'failed store operations (each is retried)',
      labelNames: ['op'] as const,
      registers,
    }),
    unpersistedUpdates: new Gauge({
      name: 'pacs_sync_unpersisted_updates',
      help: 'applied updates not yet in the database',
      registers,
      collect() {
        this.set(counts.unpersistedUpdates);
      },
    }),
    lateEdits: new Counter({
      name: 'pacs_sync_late_edits_total',
      help: 'updates received for a locked document and stored as late edits',
      registers,
    }),
    refusedUpdates: new Counter({
      name: 'pacs_sync_refused_updates_total',
      help: 'updates not applied, by reason (read-only connection)',
      labelNames: ['reason'] as const,
      registers,
    }),
    relayedUpdates: new Counter({
      name: 'pacs_sync_relayed_updates_total',
      help: "updates that brought text under another user's client id (AUTHOR-2: a resend after a loss, or a forgery)",
      registers,
    }),
    awarenessDropped: new Counter({
      name: 'pacs_sync_awareness_dropped_total',
      help: 'awareness entries and queries not relayed, by reason (PRES-*)',
      labelNames: ['reason'] as const,
      registers,
    }),
    revocations: new Counter({
      name: 'pacs_sync_revocations_total',
      help: 'REVOKE-*: revocations applied on this instance, by kind (revoke-user, read-only)',
      labelNames: ['kind'] as const,
      registers,
    }),
    protocolErrors: new Counter({ name: 'pacs_sync_protocol_errors_total', help: 'connections closed for a malformed message', registers }),
    locks: new Counter({ name: 'pacs_sync_locks_total', help: 'lock requests by outcome', labelNames: ['outcome'] as const, registers }),
    busConnected: new Gauge({ name: 'pacs_sync_bus_connected', help: 'scale-out: 1 while Redis is connected (SCALE-*)', registers }),
    busMessages: new Counter({
      name: 'pacs_sync_bus_messages_total',
      help: 'scale-out: Redis pub/sub messages, by direction (in, out, dropped: Redis down or a message this instance cannot read)',
      labelNames: ['direction'] as const,
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
