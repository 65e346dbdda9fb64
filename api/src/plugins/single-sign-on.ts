/** Single sign-on through the hospital's OpenID provider (auth/sso/), when one is configured; null otherwise. */
import fp from 'fastify-plugin';
import { SecretBox } from '../auth/secret-box';
import { SingleSignOn } from '../auth/sso/single-sign-on';

declare module 'fastify' {
  interface FastifyInstance {
    sso: SingleSignOn | null;
  }
}

export default fp(
  async (app) => {
    const { config } = app;
    const settings = config.signIn.sso;
    const origin = `${config.publicUrl.proto}://${config.publicUrl.host}`;
    const sso = settings
      ? new SingleSignOn(app.db.models, settings, new SecretBox(config.mfa.secretKey, 'idp-token-encryption'), origin)
      : null;
    app.decorate('sso', sso);
    if (sso) app.addHook('onClose', () => sso.close());
  },
  { name: 'single-sign-on', dependencies: ['database'] },
);
