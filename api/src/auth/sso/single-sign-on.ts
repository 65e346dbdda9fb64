/**
 * Single sign-on as one service: start a sign-in, finish it at the callback (provider checks,
 * group → role mapping, account), and what a session that began at the provider needs later
 * (re-asking at refresh, RP-initiated logout). Failures carry the code the login page shows.
 */
import type { SignInMethods, SsoError } from '@pacs/shared';
import type { Models, UserAttributes } from '../../db/models';
import type { SecretBox } from '../secret-box';
import { type AccountResolution, SsoAccounts } from './accounts';
import { GroupRoles } from './group-roles';
import { IdentityProvider, ProviderFailure, type ProviderTokens } from './identity-provider';
import { ProviderSessions } from './provider-sessions';
import type { SignInConfig, SsoConfig } from './settings';
import { SignIns } from './sign-ins';

export class SsoFailure extends Error {
  constructor(
    readonly code: SsoError,
    /** For the audit trail: what went wrong, without tokens or claim values. */
    readonly detail: string,
    readonly userId: string | null = null,
  ) {
    super(`single sign-on failed: ${code} (${detail})`);
  }
}

export interface FinishedSignIn {
  user: UserAttributes;
  event: 'signed-in' | 'linked' | 'provisioned';
  changes: Record<string, unknown>;
  tokens: ProviderTokens;
  returnTo: string;
}

const FAILURE_OF: Record<Exclude<AccountResolution['kind'], 'user'>, SsoError> = {
  pending: 'pending',
  inactive: 'inactive',
  conflict: 'conflict',
  'no-email': 'refused',
};

export class SingleSignOn {
  readonly groupRoles: GroupRoles;
  readonly sessions: ProviderSessions;
  private readonly signIns: SignIns;
  private readonly accounts: SsoAccounts;
  private readonly provider: IdentityProvider;
  readonly callbackUrl: string;
  readonly postLogoutUrl: string;

  constructor(models: Models, settings: SsoConfig, box: SecretBox, origin: string) {
    this.callbackUrl = `${origin}/api/auth/oidc/callback`;
    this.postLogoutUrl = `${origin}/?signed_out=sso`;
    this.provider = new IdentityProvider(settings, this.callbackUrl);
    this.groupRoles = new GroupRoles(models);
    this.signIns = new SignIns(models);
    this.accounts = new SsoAccounts(models, settings.issuer.href, settings.provisioning);
    this.sessions = new ProviderSessions(models, box, this.provider, this.groupRoles);
  }

  /** A new sign-in of this browser: the cookie value that binds it, and where to send the browser. */
  async begin(returnTo: string): Promise<{ binding: string; url: URL }> {
    const { binding, checks } = await this.signIns.start(returnTo);
    try {
      return { binding, url: await this.provider.authorizationUrl(checks) };
    } catch (error) {
      throw new SsoFailure('unavailable', error instanceof ProviderFailure ? error.detail : 'discovery');
    }
  }

  /** The callback: `binding` from this browser's cookie, `query` as the provider sent it. */
  async finish(binding: string | undefined, query: URLSearchParams): Promise<FinishedSignIn> {
    const signIn = await this.signIns.spend(binding);
    if (signIn === 'expired') throw new SsoFailure('expired', 'no-open-sign-in');
    if (signIn === 'spent') throw new SsoFailure('refused', 'sign-in-replayed');
    if (query.get('error') === 'access_denied') throw new SsoFailure('cancelled', 'access_denied');
    const currentUrl = new URL(this.callbackUrl);
    for (const [key, value] of query) currentUrl.searchParams.append(key, value);
    let tokens: ProviderTokens;
    try {
      tokens = await this.provider.exchange(currentUrl, signIn);
    } catch (error) {
      const failure = error instanceof ProviderFailure ? error : new ProviderFailure('unavailable', 'unexpected');
      throw new SsoFailure(failure.kind === 'unavailable' ? 'unavailable' : 'refused', failure.detail);
    }
    const role = await this.groupRoles.roleFor(tokens.identity.groups);
    if (!role) throw new SsoFailure('not-allowed', 'no-mapped-group');
    const resolution = await this.accounts.resolve(tokens.identity, role);
    if (resolution.kind !== 'user') {
      const userId = 'userId' in resolution ? resolution.userId : null;
      const detail = resolution.kind === 'pending' && resolution.provisioned ? 'provisioned-awaiting-approval' : resolution.kind;
      throw new SsoFailure(FAILURE_OF[resolution.kind], detail, userId);
    }
    return { user: resolution.user, event: resolution.event, changes: resolution.changes, tokens, returnTo: signIn.returnTo };
  }

  close(): Promise<void> {
    return this.provider.close();
  }
}

export function signInMethodsOf(config: SignInConfig): SignInMethods {
  return { localLogin: config.localLogin, sso: config.sso ? { label: config.sso.label } : null };
}
