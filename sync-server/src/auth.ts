/**
 * Who may open a document (SPEC.md AUTH-*): the token, verified by the document-token module the
 * sync-server shares with the API that signs it, and the permission matrix. No database call: the
 * token alone authorises (AUTH-6).
 */
import { can, type DocumentTokenClaims } from '@pacs/shared';

export {
  CLOCK_SKEW_SECONDS,
  signDocumentToken,
  type TokenFailure,
  type TokenInput,
  type TokenResult,
  verifyDocumentToken,
} from '@pacs/server-kit/document-token';
export { bearerMatches } from '@pacs/server-kit/secrets';

/**
 * What the permission matrix allows for these claims (AUTH-5): no `report:read` → no access at
 * all; `rw` needs `report:edit` (a token asking for more than the role allows is refused).
 */
export function accessFor(claims: DocumentTokenClaims): 'rw' | 'ro' | 'none' {
  if (!can(claims.role, 'report:read')) return 'none';
  if (claims.mode === 'rw') return can(claims.role, 'report:edit') ? 'rw' : 'none';
  return 'ro';
}
