/**
 * A real OpenID provider for tests (the `oidc-provider` package, certified by the OpenID
 * Foundation), over HTTPS with certificates made in the test. Accounts, their groups and whether
 * they are active are set by the test; the sign-in page is a plain form (login name only), so a
 * browser test fills it like a user would and an API test posts it. `tamper` makes the provider
 * misbehave in ways a relying party must refuse.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import Provider, { type KoaContextWithOIDC } from 'oidc-provider';
import type { Pki } from '../pki';
import { resignIdToken } from './tamper';

export interface TestAccount {
  sub: string;
  email: string;
  name: string;
  groups: string[];
  emailVerified?: boolean;
  active?: boolean;
}

export interface TestClient {
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  postLogoutRedirectUri: string;
}

/** Ways to misbehave: an ID token signed with the provider's own key but for another audience. */
export type Tamper = 'none' | 'id-token-audience';

export interface TestIdentityProvider {
  issuer: string;
  /** The client our API is registered as, and another application of the same hospital. */
  client: TestClient;
  otherClient: TestClient;
  accounts: Map<string, TestAccount>;
  tamper: Tamper;
  /** Requests the token endpoint answered, by grant type (a test can wait on a refresh). */
  tokenRequests: { grantType: string; status: number }[];
  close(): Promise<void>;
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function loginPage(uid: string, error: string | null): string {
  return `<!doctype html><html><head><title>Hospital sign-in</title></head><body>
<h1>Hospital sign-in</h1>
${error ? `<p role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}">
<label>Login <input name="login" autocomplete="username" autofocus></label>
<button type="submit">Sign in at the hospital</button>
</form></body></html>`;
}

async function readForm(req: import('node:http').IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 10_000) break;
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/** Starts the provider on 127.0.0.1 over TLS with `pki`'s server certificate. */
export async function startIdentityProvider(options: {
  pki: Pki;
  /** Where our API receives the code and where it sends the browser after logout. */
  redirectUri: string;
  postLogoutRedirectUri: string;
  accounts?: TestAccount[];
}): Promise<TestIdentityProvider> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-idp-1', alg: 'RS256', use: 'sig' };
  const client: TestClient = {
    clientId: 'pacs',
    clientSecret: randomBytes(24).toString('base64url'),
    redirectUri: options.redirectUri,
    postLogoutRedirectUri: options.postLogoutRedirectUri,
  };
  const otherClient: TestClient = { ...client, clientId: 'billing-app', clientSecret: randomBytes(24).toString('base64url') };
  const accounts = new Map((options.accounts ?? []).map((account) => [account.sub, account]));

  const server = https.createServer({ key: readFileSync(options.pki.serverKey), cert: readFileSync(options.pki.serverCert) });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const state: TestIdentityProvider = {
    issuer,
    client,
    otherClient,
    accounts,
    tamper: 'none',
    tokenRequests: [],
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };

  const provider = new Provider(issuer, {
    clients: [client, otherClient].map((c) => ({
      client_id: c.clientId,
      client_secret: c.clientSecret,
      redirect_uris: [c.redirectUri],
      post_logout_redirect_uris: [c.postLogoutRedirectUri],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    })),
    jwks: { keys: [signingKey as never] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
    scopes: ['openid', 'offline_access', 'email', 'profile', 'groups'],
    // Claims in the ID token itself, as most hospital IdPs configure it for a relying party.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    features: { devInteractions: { enabled: false }, rpInitiatedLogout: { enabled: true } },
    issueRefreshToken: async () => true,
    // Consent is the hospital's, given once for its own applications.
    loadExistingGrant: async (ctx: KoaContextWithOIDC) => {
      const session = ctx.oidc.session;
      const clientId = ctx.oidc.client?.clientId;
      if (!session?.accountId || !clientId) return undefined;
      const grant = new ctx.oidc.provider.Grant({ clientId, accountId: session.accountId });
      grant.addOIDCScope('openid offline_access email profile groups');
      await grant.save();
      return grant;
    },
    findAccount: (_ctx, sub) => {
      const account = accounts.get(sub);
      // An account deactivated at the hospital no longer exists for the provider: refresh fails.
      if (!account || account.active === false) return undefined;
      return {
        accountId: sub,
        claims: () => ({
          sub,
          email: account.email,
          email_verified: account.emailVerified ?? true,
          name: account.name,
          groups: account.groups,
        }),
      };
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, RefreshToken: 86_400, Interaction: 600, Session: 3600, Grant: 86_400 },
  });
  provider.proxy = false;
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.path !== '/token') return;
    const grantType = String(ctx.oidc?.params?.grant_type ?? '');
    state.tokenRequests.push({ grantType, status: ctx.status });
    const body = ctx.body as { id_token?: string } | undefined;
    if (state.tamper === 'id-token-audience' && ctx.status === 200 && body?.id_token) {
      body.id_token = resignIdToken(body.id_token, privateKey, signingKey.kid, { aud: otherClient.clientId });
    }
  });

  const callback = provider.callback();
  server.on('request', async (req, res) => {
    const match = /^\/interaction\/([A-Za-z0-9_-]+)$/.exec(req.url ?? '');
    if (!match) return callback(req, res);
    try {
      const details = await provider.interactionDetails(req, res);
      if (req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(loginPage(details.uid, null));
        return;
      }
      const login = (await readForm(req)).get('login') ?? '';
      const account = accounts.get(login);
      if (!account || account.active === false) {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(loginPage(details.uid, 'Unknown or disabled account.'));
        return;
      }
      await provider.interactionFinished(req, res, { login: { accountId: login } }, { mergeWithLastSubmission: false });
    } catch (error) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end(`interaction failed: ${(error as Error).message}`);
    }
  });
  return state;
}
