/**
 * The document tokens the API issues for the sync-server (sync-server/SPEC.md AUTH-2), signed by
 * the module the sync-server verifies them with. What the API adds: a lifetime never above the
 * maximum the sync-server accepts, and a display name cut to the length it accepts.
 */
import { signDocumentToken as sign } from '@pacs/server-kit/document-token';
import { DOCUMENT_TOKEN_MAX_TTL_SECONDS, type DocumentMode, type Role } from '@pacs/shared';

export function signDocumentToken(
  subject: { userId: string; role: Role; name: string },
  doc: string,
  mode: DocumentMode,
  secret: string,
  ttlSeconds: number,
  now = Date.now(),
): { token: string; expiresAt: Date } {
  const iat = Math.floor(now / 1000);
  const exp = iat + Math.min(ttlSeconds, DOCUMENT_TOKEN_MAX_TTL_SECONDS);
  const token = sign({ sub: subject.userId, role: subject.role, name: subject.name.slice(0, 200), doc, mode, iat, exp }, secret);
  return { token, expiresAt: new Date(exp * 1000) };
}
