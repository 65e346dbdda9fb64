/**
 * `GET /api/studies/events`: a server-sent event stream that nudges open worklists when the
 * worklist change sequence advances, so they pull the delta feed at once instead of waiting for
 * their next poll.
 *
 * - Events are `changed` with `{"sequence":N}` and nothing else: no ids, names or fields of any
 *   study. The stream therefore reads no patient data and writes no audit row per stream or per
 *   event; the delta-feed pull each nudge triggers is audited as usual, and refusals (401, 403)
 *   are audited by the audit-trail hook because they are ordinary replies.
 * - Authentication is the usual bearer token (clients stream with fetch, not EventSource, so the
 *   token never appears in a URL). The stream ends when that token expires (`expired`), and at
 *   the next heartbeat after the user is deactivated, changes role or password (`revoked`); the
 *   client then reconnects with a fresh token or stops.
 * - Without `Accept: text/event-stream` the route answers `{"sequence":N}` as JSON and ends:
 *   a cheap probe, and what a plain request (the route × role test) gets.
 * - Commits through this instance nudge at once; commits through another API instance are seen
 *   by reading the counter row every `pollMs` while at least one stream is open.
 */
import type { ServerResponse } from 'node:http';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { WorklistSequence } from '@pacs/shared';
import type { FastifyInstance } from 'fastify';
import { changeSequenceOf } from './change-feed';

/** Mutable so tests can shorten the intervals; production uses the defaults. */
export const eventStreamSettings = {
  /** A comment line this often keeps proxies from closing an idle stream and lets clients detect a dead one. */
  heartbeatMs: 15_000,
  /** How often the counter row is read for other instances' commits while streams are open. */
  pollMs: 1_000,
};

type Stream = { close(reason: string): void };

export default async function worklistEventRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const sequence = changeSequenceOf(app.db.models);
  const open = new Set<Stream>();
  let poller: ReturnType<typeof setInterval> | null = null;

  const startPolling = () => {
    poller ??= setInterval(() => {
      sequence.current().catch((error: unknown) => app.log.warn({ err: error }, 'worklist sequence read failed'));
    }, eventStreamSettings.pollMs);
  };
  const stopPollingIfIdle = () => {
    if (open.size === 0 && poller) {
      clearInterval(poller);
      poller = null;
    }
  };

  // Open streams would keep server.close() waiting for ever.
  app.addHook('preClose', async () => {
    for (const stream of [...open]) stream.close('shutdown');
    stopPollingIfIdle();
  });

  app.get(
    '/api/studies/events',
    {
      config: { access: 'study:read' },
      schema: {
        tags: ['worklist'],
        summary: 'Worklist change nudges (server-sent events with Accept: text/event-stream; else the current sequence as JSON)',
        description:
          'Events: `changed` with data {"sequence":N} whenever the worklist change sequence advances (first one at once), ' +
          'a comment line as heartbeat, `expired` when the access token expires, `revoked` when the account no longer may read. ' +
          'No patient data: pull /api/studies/changes on each nudge.',
        response: { 200: WorklistSequence },
      },
    },
    async (request, reply) => {
      const current = await sequence.current();
      // HEAD (Fastify adds it for every GET) must never turn into an endless stream.
      if (request.method !== 'GET' || !String(request.headers.accept ?? '').includes('text/event-stream')) return { sequence: current };

      const principal = request.principal!;
      const issuedAt = request.user.iat;
      const expiresAt = request.user.exp * 1000;
      reply.hijack();
      const raw: ServerResponse = reply.raw;
      raw.writeHead(200, {
        ...(reply.getHeaders() as Record<string, string>),
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        // nginx and similar proxies must pass events on as they come, not buffer them.
        'x-accel-buffering': 'no',
        'x-request-id': request.id,
      });
      raw.flushHeaders();

      let sent = -1;
      const write = (text: string) => {
        if (!raw.writableEnded && !raw.destroyed) raw.write(text);
      };
      const nudge = (seq: number) => {
        if (seq <= sent) return;
        sent = seq;
        write(`event: changed\nid: ${seq}\ndata: ${JSON.stringify({ sequence: seq })}\n\n`);
      };

      const stream: Stream = {
        close(reason) {
          if (raw.writableEnded) return;
          cleanup();
          if (reason !== 'client') write(`event: ${reason}\ndata: {}\n\n`);
          raw.end();
        },
      };
      const heartbeat = setInterval(() => {
        write(': heartbeat\n\n');
        void stillAllowed().then((allowed) => {
          if (!allowed) stream.close('revoked');
        });
      }, eventStreamSettings.heartbeatMs);
      const expiry = setTimeout(() => stream.close('expired'), Math.max(0, expiresAt - Date.now()));
      const unsubscribe = sequence.onAdvance(nudge);
      function cleanup() {
        clearInterval(heartbeat);
        clearTimeout(expiry);
        unsubscribe();
        open.delete(stream);
        stopPollingIfIdle();
      }
      // The same checks as access control on each request, against the cached user row.
      async function stillAllowed(): Promise<boolean> {
        try {
          const user = await app.principals.get(principal.userId);
          return (
            !!user?.active && user.role === principal.role && issuedAt >= Math.floor(new Date(user.passwordChangedAt).getTime() / 1000)
          );
        } catch {
          return true; // a database hiccup is not a revocation; the next heartbeat asks again
        }
      }

      open.add(stream);
      startPolling();
      raw.on('close', () => {
        if (raw.writableFinished) return;
        stream.close('client');
        // A response whose client went away never emits 'finish', so Fastify would skip the
        // onResponse hooks (the request log line, metrics); its own 'error' listener runs them.
        if (raw.listenerCount('error') > 0) raw.emit('error', new Error('client closed the event stream'));
      });
      write('retry: 3000\n\n');
      nudge(Math.max(current, await sequence.current()));
    },
  );
}
