/**
 * The installation's report-signing keys (reports/signature/), loaded once at start-up: a missing or
 * unreadable key stops the API before it signs or verifies anything.
 */
import fp from 'fastify-plugin';
import { loadSigningKeyring, type SigningKeyring } from '../reports/signature/signing-keys';

declare module 'fastify' {
  interface FastifyInstance {
    reportKeys: SigningKeyring;
  }
}

export default fp(
  async (app) => {
    const keyring = loadSigningKeyring(app.config.signing);
    app.decorate('reportKeys', keyring);
    app.log.info({ keyId: keyring.current.keyId }, 'reports are signed with Ed25519 key %s', keyring.current.keyId);
  },
  { name: 'report-signing' },
);
