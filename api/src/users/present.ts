import type { User } from '@pacs/shared';
import type { UserAttributes } from '../db/models';
import { decodeModalities } from '../worklist/present';

/** The public shape of a user: never the hash, the lockout counters or token data. */
export function presentUser(
  user: Pick<
    UserAttributes,
    'id' | 'email' | 'name' | 'role' | 'active' | 'providerId' | 'approvalPending' | 'modalities' | 'createdAt' | 'updatedAt'
  >,
): User {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    role: user.role,
    active: Boolean(user.active),
    providerId: user.providerId ?? '',
    approvalPending: Boolean(user.approvalPending),
    modalities: user.modalities == null ? null : decodeModalities(user.modalities),
    createdAt: new Date(user.createdAt).toISOString(),
    updatedAt: new Date(user.updatedAt).toISOString(),
  };
}
