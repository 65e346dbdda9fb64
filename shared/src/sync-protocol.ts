/**
 * The sync protocol's shared vocabulary: document names, WebSocket close codes and the one custom
 * message type. The wire protocol itself is standard y-websocket (y-protocols sync + awareness).
 */

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
} as const;
export type CloseCodeName = keyof typeof CLOSE_CODES;

export const RETRYABLE_CLOSE_CODES: readonly number[] = [CLOSE_CODES.rateLimited, CLOSE_CODES.serverRestart];

/**
 * y-websocket reserves message types 0 (sync), 1 (awareness), 2 (auth), 3 (query awareness).
 * Type 100 carries a JSON status notice from the server, e.g. that the document was locked.
 */
export const MESSAGE_TYPE_NOTICE = 100;
export type SyncNotice =
  | { readonly type: 'locked'; readonly reportId: string; readonly lockedAt: string }
  | { readonly type: 'unlocked'; readonly reportId: string }
  | { readonly type: 'late-edit-stored'; readonly reportId: string };
