import { type Static, Type } from 'typebox';
import { Email, NewPassword, RoleSchema, User } from './auth';
import { Cursor, PageLimit, Uuid } from './common';

export const UserName = Type.String({ minLength: 1, maxLength: 200 });
/** The hospital's id of an ordering physician (ORC-12.1 of their orders); '' unlinks. */
export const ProviderId = Type.String({ maxLength: 64, pattern: '^[A-Za-z0-9._-]*$' });
/** The modalities whose new arrivals a radiologist's device holds (device-scope.ts); null: all of them. */
export const UserModalities = Type.Union(
  [Type.Array(Type.String({ pattern: '^[A-Z]{2,4}$' }), { maxItems: 20, uniqueItems: true }), Type.Null()],
  { description: 'modalities of the arrival window on the devices; null: all' },
);

export const UserCreateRequest = Type.Object(
  {
    email: Email,
    name: UserName,
    role: RoleSchema,
    password: NewPassword,
    providerId: Type.Optional(ProviderId),
    modalities: Type.Optional(UserModalities),
  },
  { additionalProperties: false },
);
export type UserCreateRequest = Static<typeof UserCreateRequest>;

/** Role change, rename, deactivate or reactivate, provider id, modalities; at least one field. */
export const UserUpdateRequest = Type.Object(
  {
    name: Type.Optional(UserName),
    role: Type.Optional(RoleSchema),
    active: Type.Optional(Type.Boolean()),
    providerId: Type.Optional(ProviderId),
    modalities: Type.Optional(UserModalities),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UserUpdateRequest = Static<typeof UserUpdateRequest>;

export const PasswordResetRequest = Type.Object({ password: NewPassword }, { additionalProperties: false });
export type PasswordResetRequest = Static<typeof PasswordResetRequest>;

export const UserListQuery = Type.Object(
  {
    role: Type.Optional(RoleSchema),
    active: Type.Optional(Type.Boolean()),
    q: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'matches name or email' })),
    limit: Type.Optional(PageLimit),
    cursor: Type.Optional(Cursor),
  },
  { additionalProperties: false },
);
export type UserListQuery = Static<typeof UserListQuery>;

export const UserPage = Type.Object({
  items: Type.Array(User),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});
export type UserPage = Static<typeof UserPage>;

/** Someone a study can be assigned to: an active radiologist (names and roles, nothing else). */
export const AssignableUser = Type.Object({
  id: Uuid,
  name: Type.String(),
  role: Type.Union([Type.Literal('attending'), Type.Literal('resident')]),
});
export type AssignableUser = Static<typeof AssignableUser>;

export const AssignableUsers = Type.Object({ users: Type.Array(AssignableUser) }, { $id: 'AssignableUsers' });
export type AssignableUsers = Static<typeof AssignableUsers>;
