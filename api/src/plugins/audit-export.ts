/**
 * The audit export (PACS_ATNA_URL): every audit row to the hospital's audit repository as a PS3.15
 * message over syslog. Started when the app is ready, stopped on close; woken by each audit write.
 */
import fp from 'fastify-plugin';
import { AtnaExporter } from '../audit/atna/exporter';

declare module 'fastify' {
  interface FastifyInstance {
    auditExport: AtnaExporter | null;
  }
}

export default fp(
  async (app) => {
    const settings = app.config.atna;
    if (!settings) {
      app.decorate('auditExport', null);
      return;
    }
    const exporter = new AtnaExporter(app.db.models, settings, app.log.child({ component: 'audit-export' }));
    app.decorate('auditExport', exporter);
    const kick = () => exporter.kick();
    app.db.models.AuditLog.addHook('afterCreate', kick);
    app.db.models.AuditLog.addHook('afterBulkCreate', kick);
    app.addHook('onReady', async () => exporter.start());
    app.addHook('onClose', async () => exporter.stop());
  },
  { name: 'audit-export', dependencies: ['database'] },
);
