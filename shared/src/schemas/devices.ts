/**
 * Sessions and devices: what a signed-in user (or an admin) sees of the places their account is
 * signed in, the device's own identity (an id and a secret the web app keeps in localStorage), the
 * offline holdings it reports, and what a revoked device reports after wiping itself.
 */
import { type Static, Type } from 'typebox';
import { IsoDateTime, Uuid } from './common';

/** 32 random bytes, base64url without padding: exactly 43 characters. */
export const DeviceSecret = Type.String({ minLength: 43, maxLength: 43, pattern: '^[A-Za-z0-9_-]{43}$' });

/** The device's proof of itself, sent with a login, a refresh and a wipe report. */
export const DeviceCredentials = Type.Object({ id: Uuid, secret: DeviceSecret }, { additionalProperties: false });
export type DeviceCredentials = Static<typeof DeviceCredentials>;

/** The id the server registered the device under (a fresh one when the presented id was not theirs to use). */
export const DeviceRegistration = Type.Object({ id: Uuid });
export type DeviceRegistration = Static<typeof DeviceRegistration>;

/** A refresh may say which device asks, so a revoked one learns it must wipe. */
export const RefreshRequest = Type.Object({ device: Type.Optional(DeviceCredentials) }, { additionalProperties: false });
export type RefreshRequest = Static<typeof RefreshRequest>;

const Count = Type.Integer({ minimum: 0, maximum: 10_000_000 });

/** Patient data the device holds offline, counted from its own store. */
export const DeviceHoldings = Type.Object({ studies: Count, reports: Count, worklistRows: Count }, { additionalProperties: false });
export type DeviceHoldings = Static<typeof DeviceHoldings>;

/** What a revoked device removed, reported once it is done (counts only, never names). */
export const WipeSummary = Type.Object(
  {
    databases: Count,
    studies: Count,
    reports: Count,
    worklistRows: Count,
    caches: Count,
  },
  { additionalProperties: false },
);
export type WipeSummary = Static<typeof WipeSummary>;

export const WipeReportRequest = Type.Object({ device: DeviceCredentials, wiped: WipeSummary }, { additionalProperties: false });
export type WipeReportRequest = Static<typeof WipeReportRequest>;

export const WipeReportAnswer = Type.Object({ wipedAt: IsoDateTime });
export type WipeReportAnswer = Static<typeof WipeReportAnswer>;

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

export const DeviceView = Type.Object({
  id: Uuid,
  userId: Uuid,
  userEmail: Type.String(),
  /** Browser and operating system from the User-Agent, e.g. "Chrome 156 on Linux". */
  label: Type.String(),
  createdAt: IsoDateTime,
  lastSeenAt: IsoDateTime,
  holdings: DeviceHoldings,
  holdingsReportedAt: Nullable(IsoDateTime),
  activeSessions: Type.Integer(),
  revokedAt: Nullable(IsoDateTime),
  wipedAt: Nullable(IsoDateTime),
  wipeReport: Nullable(WipeSummary),
  /** The device this request came from. */
  current: Type.Boolean(),
});
export type DeviceView = Static<typeof DeviceView>;

export const DeviceList = Type.Object({ items: Type.Array(DeviceView) });
export type DeviceList = Static<typeof DeviceList>;

export const SessionView = Type.Object({
  /** The session id (the refresh-token family). */
  id: Uuid,
  userId: Uuid,
  userEmail: Type.String(),
  deviceId: Nullable(Uuid),
  /** The device's label, or "Unknown device" for a sign-in that named none. */
  deviceLabel: Type.String(),
  createdAt: IsoDateTime,
  /** Its last refresh. */
  lastSeenAt: IsoDateTime,
  expiresAt: IsoDateTime,
  /** The session this request came from. */
  current: Type.Boolean(),
});
export type SessionView = Static<typeof SessionView>;

export const SessionList = Type.Object({ items: Type.Array(SessionView) });
export type SessionList = Static<typeof SessionList>;

/** Admins: one user's, or everyone's (the most recently seen first, up to the limit). */
export const SessionAdminQuery = Type.Object(
  { userId: Type.Optional(Uuid), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 200 })) },
  { additionalProperties: false },
);
export type SessionAdminQuery = Static<typeof SessionAdminQuery>;
