/**
 * Restricted patients and emergency access (restricted-access/): the access policy every route
 * that sends patient data asks, the windows, and the sweeper that records the stop of expired ones.
 */
import fp from 'fastify-plugin';
import { AccessPolicy } from '../restricted-access/policy';
import { AccessWindows } from '../restricted-access/windows';

declare module 'fastify' {
  interface FastifyInstance {
    restrictedAccess: { policy: AccessPolicy; windows: AccessWindows };
  }
}

export default fp(
  async (app) => {
    const policy = new AccessPolicy(app.db.models);
    const windows = new AccessWindows(app.db.models, app.audit, app.config.breakGlass.windowMs);
    app.decorate('restrictedAccess', { policy, windows });
    let sweeping = false;
    const timer = setInterval(() => {
      if (sweeping) return;
      sweeping = true;
      windows
        .sweep(app.log)
        .catch((error: unknown) => app.log.warn({ err: error }, 'emergency access sweep failed'))
        .finally(() => {
          sweeping = false;
        });
    }, app.config.breakGlass.sweepMs);
    timer.unref();
    app.addHook('onClose', async () => clearInterval(timer));
  },
  { name: 'restricted-access', dependencies: ['database', 'audit-trail'] },
);
