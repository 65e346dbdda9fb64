/** The second factor of local accounts (auth/mfa/), shared by the login and the factor's own routes. */
import fp from 'fastify-plugin';
import { SecondFactor } from '../auth/mfa/second-factor';
import { SecretBox } from '../auth/mfa/secret-box';

declare module 'fastify' {
  interface FastifyInstance {
    secondFactor: SecondFactor;
  }
}

export default fp(
  async (app) => {
    app.decorate(
      'secondFactor',
      new SecondFactor(app.db.models, new SecretBox(app.config.mfa.secretKey), app.config.mfa, app.config.institutionName),
    );
  },
  { name: 'second-factor', dependencies: ['database'] },
);
