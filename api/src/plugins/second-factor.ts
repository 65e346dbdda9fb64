/** The second factor of local accounts (auth/mfa/), shared by the login and the factor's own routes. */
import fp from 'fastify-plugin';
import { ChallengeSigner } from '../auth/mfa/challenge';
import { SecondFactor } from '../auth/mfa/second-factor';
import { SecretBox } from '../auth/secret-box';

declare module 'fastify' {
  interface FastifyInstance {
    secondFactor: SecondFactor;
    /** Signs the login step between a correct password and the second factor. */
    mfaChallenges: ChallengeSigner;
  }
}

export default fp(
  async (app) => {
    app.decorate(
      'secondFactor',
      new SecondFactor(
        app.db.models,
        new SecretBox(app.config.mfa.secretKey, 'totp-secret-encryption'),
        app.config.mfa,
        app.config.institutionName,
      ),
    );
    app.decorate('mfaChallenges', new ChallengeSigner(app.config.jwtSecret));
  },
  { name: 'second-factor', dependencies: ['database'] },
);
