/**
 * Which of our users a provider identity is. Linked by the provider's subject (never by name);
 * a first sign-in links an existing local account only when the provider vouches for the e-mail
 * (`email_verified`), and otherwise creates the account: active at once, or waiting for an admin,
 * as the installation's provisioning setting says. For a linked user the provider is the source of
 * truth for the role (through the group mapping) and the name.
 */
import { createHash } from 'node:crypto';
import type { Role } from '@pacs/shared';
import { UniqueConstraintError } from 'sequelize';
import type { Models, UserAttributes } from '../../db/models';
import type { ProviderIdentity } from './identity-provider';

/** Not a bcrypt hash: no password matches it, so the account signs in only through the provider. */
export const SSO_ONLY_PASSWORD_HASH = '!sso-only';

export type AccountResolution =
  | { kind: 'user'; user: UserAttributes; event: 'signed-in' | 'linked' | 'provisioned'; changes: Record<string, unknown> }
  | { kind: 'pending'; userId: string; provisioned: boolean }
  | { kind: 'inactive'; userId: string }
  | { kind: 'conflict'; userId: string }
  | { kind: 'no-email' };

export function subjectKeyOf(issuer: string, subject: string): string {
  return createHash('sha256').update(`${issuer}\n${subject}`).digest('hex');
}

export class SsoAccounts {
  constructor(
    private readonly models: Models,
    private readonly issuer: string,
    private readonly provisioning: 'automatic' | 'approval',
  ) {}

  async resolve(identity: ProviderIdentity, role: Role): Promise<AccountResolution> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.resolveOnce(identity, role);
      } catch (error) {
        // Two first sign-ins of one person at once: the loser finds the winner's account.
        if (error instanceof UniqueConstraintError && attempt === 0) continue;
        throw error;
      }
    }
  }

  private async resolveOnce(identity: ProviderIdentity, role: Role): Promise<AccountResolution> {
    const { models } = this;
    const subjectKey = subjectKeyOf(this.issuer, identity.subject);
    const link = await models.SsoIdentity.findByPk(subjectKey, { raw: true });
    if (link) {
      const user = await models.User.findByPk(link.userId);
      if (!user) return { kind: 'inactive', userId: link.userId };
      return this.signedIn(user, identity, role, 'signed-in');
    }
    if (!identity.email) return { kind: 'no-email' };
    const existing = await models.User.findOne({ where: { email: identity.email } });
    if (existing) {
      const linkedElsewhere = await models.SsoIdentity.findOne({ where: { userId: existing.get('id') }, raw: true });
      if (!identity.emailVerified || linkedElsewhere) return { kind: 'conflict', userId: existing.get('id') };
      await models.SsoIdentity.create({ subjectKey, userId: existing.get('id'), issuer: this.issuer, subject: identity.subject });
      return this.signedIn(existing, identity, role, 'linked');
    }
    const automatic = this.provisioning === 'automatic';
    const created = await models.User.sequelize!.transaction(async (transaction) => {
      const user = await models.User.create(
        {
          email: identity.email!,
          name: identity.name ?? identity.email!,
          role,
          passwordHash: SSO_ONLY_PASSWORD_HASH,
          active: automatic,
          approvalPending: !automatic,
        },
        { transaction },
      );
      await models.SsoIdentity.create(
        { subjectKey, userId: user.get('id'), issuer: this.issuer, subject: identity.subject },
        { transaction },
      );
      return user;
    });
    if (!automatic) return { kind: 'pending', userId: created.get('id'), provisioned: true };
    return { kind: 'user', user: created.get(), event: 'provisioned', changes: {} };
  }

  private async signedIn(
    user: InstanceType<Models['User']>,
    identity: ProviderIdentity,
    role: Role,
    event: 'signed-in' | 'linked',
  ): Promise<AccountResolution> {
    const row = user.get();
    if (row.approvalPending) return { kind: 'pending', userId: row.id, provisioned: false };
    if (!row.active) return { kind: 'inactive', userId: row.id };
    const changes: Record<string, unknown> = {};
    if (row.role !== role) changes.role = { from: row.role, to: role };
    if (identity.name && row.name !== identity.name) changes.name = true;
    if (Object.keys(changes).length > 0) await user.update({ role, ...(identity.name ? { name: identity.name } : {}) });
    return { kind: 'user', user: user.get(), event, changes };
  }
}
