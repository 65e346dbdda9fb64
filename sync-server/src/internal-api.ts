/**
 * The internal, service-authenticated HTTP API the PACS API calls (SPEC.md API-*): lock, unlock,
 * late edits, seed, state. Only `Authorization: Bearer <PACS_SYNC_SERVICE_TOKEN>` opens it; a user's
 * document token or access token is refused like any other wrong bearer (API-1).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  parseReportDocumentName,
  type SyncAuthorshipResponse,
  SyncLockRequest,
  SyncReadOnlyRequest,
  type SyncRevocationResponse,
  SyncRevokeUserRequest,
  SyncSeedRequest,
} from '@pacs/shared';
import { fromBase64, toBase64 } from '@pacs/shared/report-document';
import type { TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { bearerMatches } from './auth';
import { DocumentStateError, LockConflictError } from './document-errors';
import type { DocumentManager } from './document-manager';
import type { Logger } from './log';
import { nowSeconds, type Revocation } from './revocations';

export const MAX_BODY_BYTES = 8 * 1024 * 1024;
const ROUTE = /^\/internal\/documents\/([^/]+)\/(lock|unlock|late-edits|seed|state|read-only|authorship)$/;
const USER_ROUTE = /^\/internal\/users\/([^/]+)\/revoke$/;
const USER_ID = /^[A-Za-z0-9-]{1,64}$/;

/** REVOKE-*: applies a revocation here and tells the other instances (server.ts). */
export type Revoke = (revocation: Revocation) => Promise<SyncRevocationResponse>;
const b64 = toBase64;
/** The schemas admit only base64's alphabet; a length no base64 can have is still refused here, as a 400. */
function unb64(field: string, text: string): Uint8Array {
  try {
    return fromBase64(text);
  } catch {
    throw new HttpError(400, 'Bad Request', `${field} is not valid base64`, 'bad-request');
  }
}

class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly error: string,
    message: string,
    readonly code?: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export function sendJson(res: ServerResponse, statusCode: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(statusCode, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).byteLength;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'Payload Too Large', `body above ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'Bad Request', 'body is not valid JSON');
  }
}

function validate<T>(schema: TSchema, value: unknown): T {
  if (!Value.Check(schema, value)) {
    const first = [...Value.Errors(schema, value)][0];
    throw new HttpError(400, 'Bad Request', `invalid body${first ? `: ${first.instancePath || '/'} ${first.message}` : ''}`);
  }
  return value as T;
}

export function isInternalPath(path: string): boolean {
  return path.startsWith('/internal/');
}

export async function handleInternal(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  serviceToken: string | undefined,
  documents: DocumentManager,
  log: Logger,
  revoke: Revoke,
): Promise<void> {
  try {
    if (!serviceToken) throw new HttpError(503, 'Service Unavailable', 'internal API disabled: PACS_SYNC_SERVICE_TOKEN is not set');
    if (!bearerMatches(req.headers.authorization, serviceToken)) {
      throw new HttpError(401, 'Unauthorized', 'service token required');
    }
    const userMatch = USER_ROUTE.exec(path);
    if (userMatch) {
      if (req.method !== 'POST') throw new HttpError(405, 'Method Not Allowed', 'use POST');
      let userId = '';
      try {
        userId = decodeURIComponent(userMatch[1]!);
      } catch {
        // not a user id: refused below
      }
      if (!USER_ID.test(userId)) throw new HttpError(404, 'Not Found', 'unknown user id');
      const body = validate<SyncRevokeUserRequest>(SyncRevokeUserRequest, await readJson(req));
      const result = await revoke({ kind: 'revoke-user', userId, at: nowSeconds() });
      log.info('user sessions revoked', { user: userId, reason: body.reason, ...result });
      sendJson(res, 200, result);
      return;
    }
    const match = ROUTE.exec(path);
    if (!match) throw new HttpError(404, 'Not Found', 'no such internal route');
    const [, rawName, action] = match as unknown as [string, string, string];
    let name: string;
    try {
      name = decodeURIComponent(rawName);
    } catch {
      throw new HttpError(404, 'Not Found', 'unknown document');
    }
    if (parseReportDocumentName(name) === null) throw new HttpError(404, 'Not Found', 'unknown document');
    const method = req.method ?? 'GET';
    const expected = action === 'state' || action === 'late-edits' || action === 'authorship' ? 'GET' : 'POST';
    if (method !== expected) throw new HttpError(405, 'Method Not Allowed', `use ${expected}`);

    switch (action) {
      case 'lock': {
        const body = validate<SyncLockRequest>(SyncLockRequest, await readJson(req));
        const stateVector = unb64('stateVector', body.stateVector);
        const snapshot = body.snapshot ? unb64('snapshot', body.snapshot) : undefined;
        const result = await documents.use(name, (doc) => doc.lockDocument(stateVector, snapshot, body.lockedBy));
        sendJson(res, 200, {
          update: b64(result.update),
          stateVector: b64(result.stateVector),
          lockedAt: result.lockedAt.toISOString(),
          lockedBy: result.lockedBy,
          alreadyLocked: result.alreadyLocked,
        });
        return;
      }
      case 'unlock': {
        await readJson(req);
        const wasLocked = await documents.use(name, (doc) => doc.unlockDocument());
        sendJson(res, 200, { unlocked: true, wasLocked });
        return;
      }
      case 'seed': {
        const body = validate<SyncSeedRequest>(SyncSeedRequest, await readJson(req));
        const update = unb64('update', body.update);
        const stateVector = await documents.use(name, (doc) => doc.seed(update));
        sendJson(res, 200, { seeded: true, stateVector: b64(stateVector) });
        return;
      }
      case 'state': {
        const state = await documents.use(name, (doc) => doc.state());
        sendJson(res, 200, {
          update: b64(state.update),
          stateVector: b64(state.stateVector),
          locked: state.lock !== null,
          lockedAt: state.lock ? state.lock.lockedAt.toISOString() : null,
          lockedBy: state.lock ? state.lock.lockedBy : null,
        });
        return;
      }
      case 'read-only': {
        const body = validate<SyncReadOnlyRequest>(SyncReadOnlyRequest, await readJson(req));
        const at = nowSeconds();
        let connections = 0;
        let propagated = true;
        for (const userId of new Set(body.userIds)) {
          const result = await revoke({ kind: 'read-only', document: name, userId, at });
          connections += result.connections;
          propagated &&= result.propagated;
        }
        log.info('document made read-only for users', { doc: name, users: body.userIds.length, connections, propagated });
        sendJson(res, 200, { connections, propagated });
        return;
      }
      case 'authorship': {
        const authorship = await documents.use(name, (doc) => doc.authorship());
        const body: SyncAuthorshipResponse = {
          update: b64(authorship.update),
          clients: authorship.clients,
          ranges: authorship.ranges.map((r) => ({ kind: r.kind, userId: r.userId, userName: r.userName, ranges: b64(r.ranges) })),
        };
        sendJson(res, 200, body);
        return;
      }
      case 'late-edits': {
        const edits = await documents.use(name, (doc) => doc.lateEdits());
        sendJson(res, 200, {
          lateEdits: edits.map((e) => ({
            id: e.id,
            userId: e.userId,
            userName: e.userName,
            receivedAt: e.createdAt.toISOString(),
            update: b64(e.data),
          })),
        });
        return;
      }
    }
  } catch (err) {
    let e: HttpError;
    if (err instanceof HttpError) e = err;
    else if (err instanceof LockConflictError) {
      e = new HttpError(409, 'Conflict', err.message, 'unseen-updates', { stateVector: b64(err.stateVector) });
    } else if (err instanceof DocumentStateError) {
      const status = { locked: 409, 'not-empty': 409, 'bad-request': 400, unavailable: 503 }[err.code];
      const label = { 409: 'Conflict', 400: 'Bad Request', 503: 'Service Unavailable' }[status] ?? 'Error';
      e = new HttpError(status, label, err.message, err.code);
    } else {
      log.error('internal API failure', { path, err });
      e = new HttpError(500, 'Internal Server Error', 'internal error');
    }
    sendJson(res, e.statusCode, {
      statusCode: e.statusCode,
      error: e.error,
      message: e.message,
      ...(e.code ? { code: e.code } : {}),
      ...e.extra,
    });
  }
}
