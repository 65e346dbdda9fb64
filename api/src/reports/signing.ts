/**
 * The electronic signature of a report, in one place: the attestation the signer makes, which
 * columns the content hash covers, how it is computed, and the check that stored signed content
 * still matches it. Signing and verifying read the hash input from the same columns
 * (`hashInputOf`), so the recipe cannot drift between the two.
 */
import { createHash } from 'node:crypto';
import { isReportLocked } from '@pacs/shared';
import type { ReportAttributes } from '../db/models';
import { canonicalJson, contentFromUpdate, unb64 } from './content';

export const ATTESTATION = 'I have personally reviewed the images and the report, and I approve this report as accurate and complete.';

export interface HashInput {
  reportId: string;
  contentJson: string;
  contentText: string;
  finalUpdate: string;
  signerId: string;
  signerName: string;
  signedAt: Date;
  attestation: string;
}

/**
 * SHA-256 (hex) of the canonical serialisation of the signed content and the signature: the
 * content (ProseMirror JSON + sections), the plain text, a digest of the locked Yjs state, the
 * signer, the time and the attestation line. Any change to a stored field changes the hash.
 */
export function contentHash(input: HashInput): string {
  const canonical = canonicalJson({
    v: 1,
    reportId: input.reportId,
    content: input.contentJson,
    text: input.contentText,
    yjsState: createHash('sha256').update(input.finalUpdate).digest('hex'),
    signer: { id: input.signerId, name: input.signerName },
    signedAt: input.signedAt.toISOString(),
    attestation: input.attestation,
  });
  return createHash('sha256').update(canonical, 'utf8').digest('hex');
}

/** The columns a final signature writes. */
export type SignedColumns = Pick<
  ReportAttributes,
  | 'contentJson'
  | 'contentText'
  | 'contentHash'
  | 'finalUpdate'
  | 'finalStateVector'
  | 'finalSignerId'
  | 'finalSignerName'
  | 'finalSignedAt'
  | 'finalAttestation'
>;

type HashedColumns = Pick<
  ReportAttributes,
  'id' | 'contentJson' | 'contentText' | 'finalUpdate' | 'finalSignerName' | 'finalAttestation'
> & { finalSignerId: string; finalSignedAt: Date | string };

/** The hash input of a signed row: what signing hashes and verifying recomputes. */
function hashInputOf(row: HashedColumns): HashInput {
  return {
    reportId: row.id,
    contentJson: row.contentJson ?? '',
    contentText: row.contentText ?? '',
    finalUpdate: row.finalUpdate ?? '',
    signerId: row.finalSignerId,
    signerName: row.finalSignerName ?? '',
    signedAt: new Date(row.finalSignedAt),
    attestation: row.finalAttestation ?? '',
  };
}

/**
 * Signs the locked document: its full state (the sync-server's lock answer, base64) becomes the
 * stored content, the signer attests it now, and the hash covers all of it.
 */
export function signLockedState(
  reportId: string,
  locked: { update: string; stateVector: string },
  signer: { userId: string; name: string },
): SignedColumns {
  const content = contentFromUpdate(unb64(locked.update));
  const unhashed = {
    contentJson: content.contentJson,
    contentText: content.contentText,
    finalUpdate: locked.update,
    finalStateVector: locked.stateVector,
    finalSignerId: signer.userId,
    finalSignerName: signer.name,
    finalSignedAt: new Date(),
    finalAttestation: ATTESTATION,
  };
  return { ...unhashed, contentHash: contentHash(hashInputOf({ id: reportId, ...unhashed })) };
}

/** true: the stored hash matches the stored content; false: ALARM; null: nothing signed. */
export function verifyIntegrity(row: ReportAttributes): boolean | null {
  if (!row.contentHash || !row.finalSignedAt || !row.finalSignerId) return isReportLocked(row.status) ? false : null;
  const { finalSignerId, finalSignedAt } = row;
  return contentHash(hashInputOf({ ...row, finalSignerId, finalSignedAt })) === row.contentHash && isReportLocked(row.status);
}
