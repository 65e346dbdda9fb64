/**
 * The critical-results loop: the service the routes use, its notifier (in the app, by e-mail
 * through the results outbox) and the escalation worker (started when the app is ready, stopped on close).
 */
import fp from 'fastify-plugin';
import { CriticalResults } from '../critical-results/critical-results';
import { EscalationWorker } from '../critical-results/escalation-worker';
import { CriticalNotifier } from '../critical-results/notifier';

declare module 'fastify' {
  interface FastifyInstance {
    critical: { results: CriticalResults; escalation: EscalationWorker };
  }
}

export default fp(
  async (app) => {
    const { config } = app;
    const { sequelize, models } = app.db;
    const notifier = new CriticalNotifier(models, app.results.outbox, app.audit, {
      escalationEmails: config.critical.escalationEmails,
      publicOrigin: `${config.publicUrl.proto}://${config.publicUrl.host}`,
    });
    const results = new CriticalResults(sequelize, models, notifier, app.results.outbox, { limitsMs: config.critical.limitsMs });
    const escalation = new EscalationWorker(results, config.critical.checkIntervalMs, app.log.child({ component: 'critical-results' }));
    app.decorate('critical', { results, escalation });
    app.addHook('onReady', async () => escalation.start());
    app.addHook('onClose', async () => escalation.stop());
  },
  { name: 'critical-results', dependencies: ['database', 'results-out'] },
);
