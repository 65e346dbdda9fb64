/**
 * The electronic signature of a report, in one place: the attestation the signer makes, which
 * columns the content hash covers, how it is computed, and the check that stored signed content
 * still matches it. Signing and verifying read the hash input from the same columns
 * (`hashInputOf`), so the recipe cannot drift between the two.
 */
import { createHash } from 'node:crypto';
import { type InstallationSignature, isReportLocked, type ReportIntegrity } from '@pacs/shared';
import type { ReportAttributes } from '../db/models';
import { canonicalJson, contentFromUpdate, type SignedContent, unb64 } from './content';
import { SIGNATURE_ALGORITHM, signReportHash, verifyReportSignature } from './signature/report-signature';
import type { SigningKeyring } from './signature/signing-keys';

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
  | 'signature'
  | 'signatureKeyId'
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
 * stored content, the signer attests it now, the hash covers all of it and the installation's key
 * signs the hash.
 */
export function signLockedState(
  reportId: string,
  locked: { update: string; stateVector: string },
  signer: { userId: string; name: string },
  keyring: SigningKeyring,
  /** The locked state already read (contentFromUpdate of `locked.update`), to read it once. */
  content: Pick<SignedContent, 'contentJson' | 'contentText'> = contentFromUpdate(unb64(locked.update)),
): SignedColumns {
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
  const hash = contentHash(hashInputOf({ id: reportId, ...unhashed }));
  return { ...unhashed, contentHash: hash, ...signReportHash(keyring, reportId, hash) };
}

/** The stored hash matches the stored content (no signature involved). */
function hashMatches(row: ReportAttributes): boolean {
  if (!row.contentHash || !row.finalSignedAt || !row.finalSignerId) return false;
  const { finalSignerId, finalSignedAt } = row;
  return contentHash(hashInputOf({ ...row, finalSignerId, finalSignedAt })) === row.contentHash;
}

/**
 * The integrity of a row as a reader is shown it: null while nothing is signed; true when the
 * report is locked, its hash matches its content and the installation's signature of that hash
 * verifies with a trusted key; false (ALARM) otherwise.
 */
export function integrityOf(row: ReportAttributes, keyring: SigningKeyring): ReportIntegrity {
  const locked = isReportLocked(row.status);
  if (!locked && !row.contentHash && !row.signature) return { verified: null, signature: null };
  const verdict = verifyReportSignature(keyring, row);
  const signature: InstallationSignature | null =
    verdict.status === 'missing'
      ? null
      : {
          algorithm: SIGNATURE_ALGORITHM,
          keyId: verdict.keyId,
          value: row.signature ?? '',
          status: verdict.status,
          key: verdict.status === 'unknown-key' ? null : verdict.key,
        };
  return { verified: locked && hashMatches(row) && verdict.status === 'valid', signature };
}

/** true: hash and signature verify; false: ALARM; null: nothing signed. */
export function verifyIntegrity(row: ReportAttributes, keyring: SigningKeyring): boolean | null {
  return integrityOf(row, keyring).verified;
}
