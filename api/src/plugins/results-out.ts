/**
 * Results out: the outbox the signing transaction writes ORU messages into, and the dispatcher
 * that sends them (started when the app is ready, stopped on close) when PACS_HL7_RESULT_DESTINATIONS
 * names any destination.
 */
import fp from 'fastify-plugin';
import { ResultDispatcher } from '../results/result-dispatcher';
import { ResultOutbox } from '../results/result-outbox';

export interface ResultsOut {
  outbox: ResultOutbox;
  dispatcher: ResultDispatcher;
}

declare module 'fastify' {
  interface FastifyInstance {
    results: ResultsOut;
  }
}

export default fp(
  async (app) => {
    const { config } = app;
    const settings = config.hl7.results;
    const outbox = new ResultOutbox(app.db.models, {
      destinations: settings.destinations,
      sender: { application: config.hl7.application, facility: config.hl7.facility },
    });
    const dispatcher = new ResultDispatcher(
      app.db.models,
      app.audit,
      {
        destinations: settings.destinations,
        ackTimeoutMs: settings.ackTimeoutMs,
        maxAttempts: settings.maxAttempts,
        retryBaseMs: 1000,
        retryMaxMs: settings.retryMaxMs,
        intervalMs: 5000,
      },
      app.log.child({ component: 'results' }),
    );
    outbox.onEnqueued = () => dispatcher.kick();
    app.decorate('results', { outbox, dispatcher });
    if (outbox.enabled) app.addHook('onReady', async () => dispatcher.start());
    app.addHook('onClose', async () => dispatcher.stop());
  },
  { name: 'results-out', dependencies: ['database'] },
);
