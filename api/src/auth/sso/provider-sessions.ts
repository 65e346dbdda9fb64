/**
 * Each of our sessions that began at the provider keeps the provider's tokens (sealed), so a
 * refresh of ours asks the provider again: an account disabled there, or signed out there, ends our
 * session at its next refresh, and a change of groups changes the role. A provider that is merely
 * unreachable does not end anyone's shift: the session goes on and the next refresh asks again.
 */
import type { Role } from '@pacs/shared';
import type { Transaction } from 'sequelize';
import type { Models } from '../../db/models';
import type { SecretBox } from '../secret-box';
import type { GroupRoles } from './group-roles';
import { type IdentityProvider, ProviderFailure, type ProviderTokens } from './identity-provider';

export type Recheck =
  | { kind: 'local' }
  | { kind: 'kept'; providerReached: boolean; roleChange: { from: Role; to: Role } | null }
  | { kind: 'ended'; detail: string };

export class ProviderSessions {
  constructor(
    private readonly models: Models,
    private readonly box: SecretBox,
    private readonly provider: IdentityProvider,
    private readonly groupRoles: GroupRoles,
    private readonly now: () => number = Date.now,
  ) {}

  async save(familyId: string, userId: string, tokens: ProviderTokens, transaction: Transaction): Promise<void> {
    await this.models.SsoSession.create(
      {
        familyId,
        userId,
        refreshToken: tokens.refreshToken ? this.box.seal(tokens.refreshToken) : null,
        idToken: this.box.seal(tokens.idToken),
        accessExpiresAt: tokens.accessExpiresAt,
        checkedAt: new Date(this.now()),
      },
      { transaction },
    );
  }

  /** At our refresh of session `familyId`: asks the provider whether the user may go on. */
  async recheck(familyId: string): Promise<Recheck> {
    const row = await this.models.SsoSession.findByPk(familyId);
    if (!row) return { kind: 'local' };
    // Not raw: checkedAt must be a Date for the conditional update below on every dialect.
    const session = row.get();
    const sealed = session.refreshToken ? this.box.open(session.refreshToken) : null;
    if (!sealed) {
      // No refresh token from the provider: valid while its access token is; then sign in there again.
      const expired = session.accessExpiresAt !== null && new Date(session.accessExpiresAt).getTime() <= this.now();
      return expired ? { kind: 'ended', detail: 'provider-token-expired' } : { kind: 'kept', providerReached: false, roleChange: null };
    }
    // One instance asks at a time: the provider rotates its refresh token, and two presentations
    // of one token would look like theft to it.
    const [claimed] = await this.models.SsoSession.update(
      { checkedAt: new Date(this.now()) },
      { where: { familyId, checkedAt: session.checkedAt } },
    );
    if (claimed !== 1) return { kind: 'kept', providerReached: false, roleChange: null };
    const identity = await this.models.SsoIdentity.findOne({ where: { userId: session.userId }, raw: true });
    if (!identity) return { kind: 'ended', detail: 'identity-unlinked' };
    let tokens: ProviderTokens;
    try {
      tokens = await this.provider.refresh(sealed, identity.subject);
    } catch (error) {
      const failure = error instanceof ProviderFailure ? error : new ProviderFailure('unavailable', 'network');
      if (failure.kind === 'refused') return { kind: 'ended', detail: failure.detail };
      return { kind: 'kept', providerReached: false, roleChange: null };
    }
    const role = await this.groupRoles.roleFor(tokens.identity.groups);
    if (!role) return { kind: 'ended', detail: 'no-mapped-group' };
    await this.models.SsoSession.update(
      {
        refreshToken: this.box.seal(tokens.refreshToken ?? sealed),
        idToken: this.box.seal(tokens.idToken),
        accessExpiresAt: tokens.accessExpiresAt,
      },
      { where: { familyId } },
    );
    const user = await this.models.User.findByPk(session.userId);
    if (!user) return { kind: 'ended', detail: 'user-gone' };
    const from = user.get('role');
    if (from === role) return { kind: 'kept', providerReached: true, roleChange: null };
    await user.update({ role });
    return { kind: 'kept', providerReached: true, roleChange: { from, to: role } };
  }

  /** The provider's logout page for session `familyId`, or null for a local session. */
  async endSessionUrl(familyId: string, postLogoutRedirectUri: string): Promise<string | null> {
    const session = await this.models.SsoSession.findByPk(familyId, { raw: true });
    const idToken = session ? this.box.open(session.idToken) : null;
    if (!idToken) return null;
    await this.models.SsoSession.destroy({ where: { familyId } });
    return this.provider.endSessionUrl(idToken, postLogoutRedirectUri);
  }
}
