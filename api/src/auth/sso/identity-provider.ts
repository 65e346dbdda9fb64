/**
 * The hospital's OpenID provider as our relying party sees it, through `openid-client`: the
 * authorization code flow with PKCE, the refresh that re-asks the provider, and RP-initiated
 * logout. Every failure is one of two kinds, because the user is told different things: the
 * provider could not be reached or answered garbage (`unavailable`), or it answered and the answer
 * does not hold (`refused`: wrong state, replayed code, a token for another audience, a bad
 * signature, an OAuth error).
 */
import * as client from 'openid-client';
import { Agent, fetch as undiciFetch } from 'undici';
import type { SsoConfig } from './settings';

export type ProviderFailureKind = 'unavailable' | 'refused';

export class ProviderFailure extends Error {
  constructor(
    readonly kind: ProviderFailureKind,
    /** For the audit trail: an OAuth error or check code, never a token or a claim value. */
    readonly detail: string,
  ) {
    super(`identity provider ${kind}: ${detail}`);
  }
}

/** The claims we use, read from the ID token (and the userinfo endpoint when groups are not in it). */
export interface ProviderIdentity {
  subject: string;
  email: string | null;
  emailVerified: boolean;
  name: string | null;
  groups: string[];
}

export interface ProviderTokens {
  identity: ProviderIdentity;
  idToken: string;
  refreshToken: string | null;
  accessExpiresAt: Date | null;
}

export interface AuthorizationChecks {
  state: string;
  nonce: string;
  codeVerifier: string;
}

function classify(error: unknown): ProviderFailure {
  if (error instanceof ProviderFailure) return error;
  if (error instanceof client.ResponseBodyError) {
    // A 5xx with an OAuth body is still an outage; invalid_grant and friends are answers.
    return new ProviderFailure(error.status >= 500 ? 'unavailable' : 'refused', `oauth:${error.error}`);
  }
  if (error instanceof client.AuthorizationResponseError) return new ProviderFailure('refused', `authorization:${error.error}`);
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && code.startsWith('OAUTH_')) {
    // Responses that are not what the protocol says (HTML error pages, broken JSON) mean the
    // provider is not working; failed checks on a well-formed answer mean it is not to be believed.
    const garbage = code === 'OAUTH_RESPONSE_IS_NOT_JSON' || code === 'OAUTH_RESPONSE_IS_NOT_CONFORM';
    return new ProviderFailure(garbage ? 'unavailable' : 'refused', code.toLowerCase());
  }
  return new ProviderFailure('unavailable', (error as Error)?.name === 'TimeoutError' ? 'timeout' : 'network');
}

function claimAt(claims: Record<string, unknown>, path: string[]): unknown {
  let value: unknown = claims;
  for (const key of path) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** Group names from a claim that is a list of strings or one string; anything else counts as none. */
function groupsOf(value: unknown): string[] | null {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((g): g is string => typeof g === 'string' && g.length > 0 && g.length <= 255);
  return null;
}

const text = (value: unknown, max: number) => (typeof value === 'string' && value.trim() !== '' ? value.trim().slice(0, max) : null);

export class IdentityProvider {
  private discovered: Promise<client.Configuration> | null = null;
  private readonly agent: Agent;

  constructor(
    private readonly settings: SsoConfig,
    private readonly redirectUri: string,
  ) {
    this.agent = new Agent({
      connect: { ...(settings.ca ? { ca: settings.ca } : {}), timeout: settings.timeoutSeconds * 1000 },
      headersTimeout: settings.timeoutSeconds * 1000,
      bodyTimeout: settings.timeoutSeconds * 1000,
    });
  }

  /** Discovery once; a failed one is forgotten, so the next sign-in tries again. */
  private configuration(): Promise<client.Configuration> {
    if (!this.discovered) {
      const { settings } = this;
      const fetchThroughAgent = ((url: string, options: RequestInit) =>
        undiciFetch(url, { ...(options as object), dispatcher: this.agent })) as unknown as client.CustomFetch;
      const auth = settings.clientSecret ? client.ClientSecretBasic(settings.clientSecret) : client.None();
      this.discovered = client
        .discovery(settings.issuer, settings.clientId, undefined, auth, {
          [client.customFetch]: fetchThroughAgent,
          timeout: settings.timeoutSeconds,
        })
        .then((configuration) => {
          configuration[client.customFetch] = fetchThroughAgent;
          configuration.timeout = settings.timeoutSeconds;
          return configuration;
        })
        .catch((error: unknown) => {
          this.discovered = null;
          throw classify(error);
        });
    }
    return this.discovered;
  }

  async authorizationUrl(checks: AuthorizationChecks): Promise<URL> {
    const configuration = await this.configuration();
    return client.buildAuthorizationUrl(configuration, {
      redirect_uri: this.redirectUri,
      scope: this.settings.scopes,
      state: checks.state,
      nonce: checks.nonce,
      code_challenge: await client.calculatePKCECodeChallenge(checks.codeVerifier),
      code_challenge_method: 'S256',
    });
  }

  /** The provider's answer at our callback (`currentUrl` with its query), checked and exchanged. */
  async exchange(currentUrl: URL, checks: AuthorizationChecks): Promise<ProviderTokens> {
    try {
      const configuration = await this.configuration();
      const tokens = await client.authorizationCodeGrant(configuration, currentUrl, {
        pkceCodeVerifier: checks.codeVerifier,
        expectedState: checks.state,
        expectedNonce: checks.nonce,
        idTokenExpected: true,
      });
      return await this.tokensOf(configuration, tokens, null);
    } catch (error) {
      throw classify(error);
    }
  }

  /**
   * Asks the provider again with its refresh token: an account disabled or signed out there is
   * refused now. The identity is re-read, so group changes reach our role.
   */
  async refresh(refreshToken: string, subject: string): Promise<ProviderTokens> {
    try {
      const configuration = await this.configuration();
      const tokens = await client.refreshTokenGrant(configuration, refreshToken);
      return await this.tokensOf(configuration, tokens, subject);
    } catch (error) {
      throw classify(error);
    }
  }

  /** Where to send the browser to end the provider's session too; null if it offers no such endpoint. */
  async endSessionUrl(idTokenHint: string, postLogoutRedirectUri: string): Promise<string | null> {
    try {
      const configuration = await this.configuration();
      if (!configuration.serverMetadata().end_session_endpoint) return null;
      return client.buildEndSessionUrl(configuration, { id_token_hint: idTokenHint, post_logout_redirect_uri: postLogoutRedirectUri }).href;
    } catch {
      // Logging out of our system never fails because the provider is away.
      return null;
    }
  }

  close(): Promise<void> {
    return this.agent.close();
  }

  private async tokensOf(
    configuration: client.Configuration,
    tokens: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers,
    expectedSubject: string | null,
  ): Promise<ProviderTokens> {
    const claims = tokens.claims();
    if (!claims || !tokens.id_token) throw new ProviderFailure('refused', 'no-id-token');
    if (expectedSubject !== null && claims.sub !== expectedSubject) throw new ProviderFailure('refused', 'subject-changed');
    let groups = groupsOf(claimAt(claims, this.settings.groupsClaim));
    if (groups === null && tokens.access_token) {
      const userinfo = await client.fetchUserInfo(configuration, tokens.access_token, claims.sub);
      groups = groupsOf(claimAt(userinfo, this.settings.groupsClaim));
    }
    const expiresIn = tokens.expiresIn();
    return {
      identity: {
        subject: claims.sub,
        email: text(claims.email, 254)?.toLowerCase() ?? null,
        emailVerified: claims.email_verified === true,
        name: text(claims.name, 200),
        groups: groups ?? [],
      },
      idToken: tokens.id_token,
      refreshToken: tokens.refresh_token ?? null,
      accessExpiresAt: expiresIn === undefined ? null : new Date(Date.now() + expiresIn * 1000),
    };
  }
}
