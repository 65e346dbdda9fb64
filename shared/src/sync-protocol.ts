/**
 * The sync protocol's shared vocabulary: document names, WebSocket close codes and the one custom
 * message type. The wire protocol itself is standard y-websocket (y-protocols sync + awareness).
 * sync-server/SPEC.md states the rules; this file holds the names both sides compile against.
 */
import { type Static, Type } from 'typebox';
import type { Role } from './permissions';

/** Report documents are named `report:<reportId>`; addenda are reports too, with their own id. */
export const DOCUMENT_PREFIX = 'report:' as const;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function reportDocumentName(reportId: string): string {
  return `${DOCUMENT_PREFIX}${reportId}`;
}

/** The report id of a document name, or null when the name is not a report document. */
export function parseReportDocumentName(name: string): string | null {
  if (!name.startsWith(DOCUMENT_PREFIX)) return null;
  const id = name.slice(DOCUMENT_PREFIX.length);
  return UUID.test(id) ? id : null;
}

export const DOCUMENT_MODES = ['rw', 'ro'] as const;
export type DocumentMode = (typeof DOCUMENT_MODES)[number];

/** JWT audience of document tokens, distinct from the API's access tokens. */
export const DOCUMENT_TOKEN_AUDIENCE = 'pacs-sync';
/** JWT issuer of document tokens: the API is the only signer. */
export const DOCUMENT_TOKEN_ISSUER = 'pacs-api';
/** Upper bound the sync-server accepts for `exp - iat` of a document token (seconds). */
export const DOCUMENT_TOKEN_MAX_TTL_SECONDS = 3600;

/**
 * Claims of a document token: a compact JWS, header exactly `{"alg":"HS256","typ":"JWT"}`,
 * signed with HMAC-SHA256 over `base64url(header) + "." + base64url(payload)` using the key shared
 * by the API and the sync-server (PACS_DOCUMENT_TOKEN_SECRET). The sync-server refuses any other
 * `alg`, a wrong `aud`/`iss`, an `exp` in the past, an `iat` in the future (beyond 30 s of clock
 * skew) and `exp - iat` above DOCUMENT_TOKEN_MAX_TTL_SECONDS.
 */
export interface DocumentTokenClaims {
  /** User id (UUID). */
  readonly sub: string;
  readonly role: Role;
  /** Display name, for presence only; never trusted for access. */
  readonly name: string;
  /** Document name, e.g. `report:<uuid>`. */
  readonly doc: string;
  readonly mode: DocumentMode;
  /** DOCUMENT_TOKEN_AUDIENCE. */
  readonly aud: string;
  /** DOCUMENT_TOKEN_ISSUER. */
  readonly iss: string;
  /** Issued at, seconds since the epoch. */
  readonly iat: number;
  /** Expiry, seconds since the epoch. Checked when a connection opens, not during it. */
  readonly exp: number;
}

/** Where the stock `WebsocketProvider` connects: `new WebsocketProvider(`${base}/sync`, name, doc, { params: { token } })`. */
export const SYNC_PATH_PREFIX = '/sync/';

/**
 * Close codes (4000–4999 are free for applications, RFC 6455 §7.4.2). A client reconnects after
 * the codes marked retry; the others need a user action or a new token first.
 */
export const CLOSE_CODES = {
  /** No token, malformed, forged or expired token. Get a new token, then reconnect. */
  unauthorized: 4401,
  /** Valid token, but not for this document or mode. */
  forbidden: 4403,
  /** Unknown document name. */
  notFound: 4404,
  /** A message broke the protocol (malformed binary). */
  protocolError: 4400,
  /** Message too large. */
  messageTooLarge: 4413,
  /** Too many messages, documents or connections. Retry after a pause. */
  rateLimited: 4429,
  /** The report was finalized while this connection was open; it is now read-only. */
  documentLocked: 4423,
  /** Server shutting down or restarting. Retry. */
  serverRestart: 4503,
  /**
   * The user was deactivated or their role changed while connected (REVOKE-1). Do not retry with
   * the same token: ask the API for a new session (which it refuses to a deactivated user).
   */
  accessRevoked: 4410,
} as const;
export type CloseCodeName = keyof typeof CLOSE_CODES;

export const RETRYABLE_CLOSE_CODES: readonly number[] = [CLOSE_CODES.rateLimited, CLOSE_CODES.serverRestart];

/**
 * y-websocket reserves message types 0 (sync), 1 (awareness), 2 (auth), 3 (query awareness).
 * Type 100 carries a JSON status notice from the server, e.g. that the document was locked:
 * `varUint(100) · varString(JSON.stringify(notice))` (lib0 encoding). The stock provider logs
 * "Unable to compute message" for an unknown type and carries on; the web app registers
 * `provider.messageHandlers[MESSAGE_TYPE_NOTICE]` to read it. Server to client only.
 */
export const MESSAGE_TYPE_NOTICE = 100;
export type SyncNotice =
  | { readonly type: 'locked'; readonly reportId: string; readonly lockedAt: string }
  | { readonly type: 'unlocked'; readonly reportId: string }
  | { readonly type: 'late-edit-stored'; readonly reportId: string }
  /** This connection was made read-only (REVOKE-2, e.g. the resident submitted): further edits are not applied. */
  | { readonly type: 'read-only'; readonly reportId: string };

// ---------------------------------------------------------------- internal API (API → sync-server)
// Service-authenticated (`Authorization: Bearer <PACS_SYNC_SERVICE_TOKEN>`), under
// `/internal/documents/:name/…`. Binary Yjs data travels as standard base64.

const Base64 = Type.String({ pattern: '^[A-Za-z0-9+/]*={0,2}$', description: 'standard base64' });

/** POST /internal/documents/:name/lock */
export const SyncLockRequest = Type.Object(
  {
    /** Y.encodeStateVector of the document the attending reviewed. */
    stateVector: Base64,
    /** Optional Y.encodeSnapshot(Y.snapshot(doc)) of that document: also catches deletions the attending has not seen. */
    snapshot: Type.Optional(Base64),
    /** User id of the finalizing attending. */
    lockedBy: Type.String({ minLength: 1, maxLength: 64 }),
  },
  { additionalProperties: false },
);
export type SyncLockRequest = Static<typeof SyncLockRequest>;

/** 200 answer of lock: the final content to store with the signed report. */
export const SyncLockResponse = Type.Object({
  /** Y.encodeStateAsUpdate of the locked document. */
  update: Base64,
  stateVector: Base64,
  lockedAt: Type.String({ format: 'date-time' }),
  lockedBy: Type.String(),
  /** True when the document was already locked (the request is idempotent). */
  alreadyLocked: Type.Boolean(),
});
export type SyncLockResponse = Static<typeof SyncLockResponse>;

/** 409 answer of lock: the document holds edits the attending has not seen. Nothing was locked. */
export const SyncLockConflict = Type.Object({
  statusCode: Type.Literal(409),
  error: Type.Literal('Conflict'),
  code: Type.Literal('unseen-updates'),
  message: Type.String(),
  /** The server's state vector, so the client can fetch what it missed. */
  stateVector: Base64,
});
export type SyncLockConflict = Static<typeof SyncLockConflict>;

/** POST /internal/documents/:name/seed (only while the document is empty and unlocked). */
export const SyncSeedRequest = Type.Object({ update: Base64 }, { additionalProperties: false });
export type SyncSeedRequest = Static<typeof SyncSeedRequest>;

/** GET /internal/documents/:name/state */
export const SyncStateResponse = Type.Object({
  update: Base64,
  stateVector: Base64,
  locked: Type.Boolean(),
  lockedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  lockedBy: Type.Union([Type.String(), Type.Null()]),
});
export type SyncStateResponse = Static<typeof SyncStateResponse>;

/** GET /internal/documents/:name/late-edits: updates that arrived after the lock, never applied. */
export const SyncLateEdit = Type.Object({
  id: Type.String(),
  userId: Type.String(),
  userName: Type.String(),
  receivedAt: Type.String({ format: 'date-time' }),
  /** The Yjs update as received (v1 encoding). */
  update: Base64,
});
export type SyncLateEdit = Static<typeof SyncLateEdit>;
export const SyncLateEditsResponse = Type.Object({ lateEdits: Type.Array(SyncLateEdit) });
export type SyncLateEditsResponse = Static<typeof SyncLateEditsResponse>;

/**
 * POST /internal/users/:userId/revoke (REVOKE-1): the user was deactivated or their role changed.
 * Every instance closes the user's open connections with CLOSE_CODES.accessRevoked and refuses
 * their document tokens issued up to now.
 */
export const SyncRevokeUserRequest = Type.Object(
  { reason: Type.Union([Type.Literal('deactivated'), Type.Literal('role-changed')]) },
  { additionalProperties: false },
);
export type SyncRevokeUserRequest = Static<typeof SyncRevokeUserRequest>;

/**
 * POST /internal/documents/:name/read-only (REVOKE-2): these users' connections to the document
 * become read-only at once on every instance, and their tokens issued before now connect read-only.
 */
export const SyncReadOnlyRequest = Type.Object(
  { userIds: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: 16 }) },
  { additionalProperties: false },
);
export type SyncReadOnlyRequest = Static<typeof SyncReadOnlyRequest>;

/** 200 answer of revoke and read-only: connections changed here, and whether every other instance was told. */
export const SyncRevocationResponse = Type.Object({
  connections: Type.Integer({ minimum: 0 }),
  /** False when the scale-out bus is down: other instances learn nothing until their tokens expire. */
  propagated: Type.Boolean(),
});
export type SyncRevocationResponse = Static<typeof SyncRevocationResponse>;

/** AUTHOR-4: the author of what a template seeded (no user typed it). */
export const TEMPLATE_AUTHOR_ID = 'template';

/**
 * GET /internal/documents/:name/authorship (AUTHOR-*): which user each Yjs client id of the document
 * belongs to, and per user the ranges of items they deleted (`deleted`) or delivered under another
 * user's client id (`relayed`, AUTHOR-2), as a Yjs delete set encoded as a snapshot without a state
 * vector (`Y.encodeSnapshot(Y.createSnapshot(ds, new Map()))`), merged per user and kind.
 */
export const SyncAuthorshipResponse = Type.Object({
  /** The document's state taken after the authorship was read: every client id in it up to then is bound. */
  update: Base64,
  clients: Type.Array(Type.Object({ clientId: Type.Integer({ minimum: 0 }), userId: Type.String(), userName: Type.String() })),
  ranges: Type.Array(
    Type.Object({
      kind: Type.Union([Type.Literal('deleted'), Type.Literal('relayed')]),
      userId: Type.String(),
      userName: Type.String(),
      ranges: Base64,
    }),
  ),
});
export type SyncAuthorshipResponse = Static<typeof SyncAuthorshipResponse>;
