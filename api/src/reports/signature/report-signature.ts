/**
 * The installation's signature of a signed report: Ed25519 over the report's id and content hash
 * (the hash already covers content, signer, time and attestation; see ../signing.ts). Someone who
 * can write to the database can recompute a hash but not this signature.
 */
import { sign, verify } from 'node:crypto';
import type { KeyStatus, SigningKeyring } from './signing-keys';

export const SIGNATURE_ALGORITHM = 'Ed25519';

export interface StoredSignature {
  signature: string;
  signatureKeyId: string;
}

export type SignatureVerdict =
  | { status: 'valid'; keyId: string; key: KeyStatus }
  /** The row carries no signature although it is signed. */
  | { status: 'missing' }
  /** Not made by this key over this content. */
  | { status: 'invalid'; keyId: string; key: KeyStatus }
  /** Made by a key this installation does not trust (never, or no longer). */
  | { status: 'unknown-key'; keyId: string };

const message = (reportId: string, contentHash: string) => Buffer.from(`pacs-report-signature:v1\n${reportId}\n${contentHash}`, 'utf8');

export function signReportHash(keyring: SigningKeyring, reportId: string, contentHash: string): StoredSignature {
  const value = sign(null, message(reportId, contentHash), keyring.current.privateKey);
  return { signature: value.toString('base64'), signatureKeyId: keyring.current.keyId };
}

const BASE64_SIGNATURE = /^[A-Za-z0-9+/]{86}==$/;

export function verifyReportSignature(
  keyring: SigningKeyring,
  row: { id: string; contentHash: string | null; signature: string | null; signatureKeyId: string | null },
): SignatureVerdict {
  if (!row.signature || !row.signatureKeyId || !row.contentHash) return { status: 'missing' };
  const keyId = row.signatureKeyId;
  const trusted = keyring.trusted(keyId);
  if (!trusted) return { status: 'unknown-key', keyId };
  const valid =
    BASE64_SIGNATURE.test(row.signature) &&
    verify(null, message(row.id, row.contentHash), trusted.key, Buffer.from(row.signature, 'base64'));
  return { status: valid ? 'valid' : 'invalid', keyId, key: trusted.status };
}
