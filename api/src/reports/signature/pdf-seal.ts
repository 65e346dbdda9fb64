/**
 * The seal of a report PDF: the installation's Ed25519 signature over every byte of the file except
 * the seal itself, so anyone holding a copy can ask whether it is exactly what this system produced.
 *
 * The PDF is drawn with two literal strings in its document information: the report it shows
 * (`pacs-report:v1:<report id>:<status>`) and a seal placeholder of fixed length. The placeholder is
 * then overwritten, byte for byte, with `pacs-seal:v1:<key id>:<signature>`, so the cross-reference
 * offsets stay valid. The signed message is the file with the seal's bytes cut out (like a PAdES
 * byte range, without the certificate machinery).
 */
import { sign, verify } from 'node:crypto';
import type { KeyStatus, SigningKeyring } from './signing-keys';

const SEAL_PREFIX = 'pacs-seal:v1:';
const KEY_ID_LENGTH = 32;
const SIGNATURE_LENGTH = 88;
/** What renderReportPdf writes into the document information; replaced by the seal of the same length. */
export const SEAL_PLACEHOLDER = `${SEAL_PREFIX}${'0'.repeat(KEY_ID_LENGTH)}:${'0'.repeat(SIGNATURE_LENGTH)}`;
const SEAL_LENGTH = SEAL_PLACEHOLDER.length;
const REPORT_MARK = /\(pacs-report:v1:([0-9a-f-]{36}):([a-z]{1,20})\)/g;

/** The document information entry naming the report (signed with the rest of the file). */
export const reportMark = (reportId: string, status: string) => `pacs-report:v1:${reportId}:${status}`;

const DOMAIN = Buffer.from('pacs-pdf-seal:v1\n', 'utf8');

function signedMessage(pdf: Buffer, sealAt: number): Buffer {
  return Buffer.concat([DOMAIN, pdf.subarray(0, sealAt), pdf.subarray(sealAt + SEAL_LENGTH)]);
}

/** Every offset where `needle` occurs in `pdf`. */
function offsetsOf(pdf: Buffer, needle: string): number[] {
  const found: number[] = [];
  for (let at = pdf.indexOf(needle, 0, 'latin1'); at !== -1; at = pdf.indexOf(needle, at + 1, 'latin1')) found.push(at);
  return found;
}

/** Signs a freshly rendered PDF in place of its placeholder; a PDF without exactly one placeholder is a bug. */
export function sealPdf(pdf: Buffer, keyring: SigningKeyring): Buffer {
  const places = offsetsOf(pdf, SEAL_PLACEHOLDER);
  if (places.length !== 1) throw new Error(`a report PDF must carry one seal placeholder, found ${places.length}`);
  const at = places[0]!;
  const signature = sign(null, signedMessage(pdf, at), keyring.current.privateKey).toString('base64');
  const seal = `${SEAL_PREFIX}${keyring.current.keyId}:${signature}`;
  if (seal.length !== SEAL_LENGTH) throw new Error('seal length drifted from its placeholder');
  const sealed = Buffer.from(pdf);
  sealed.write(seal, at, 'latin1');
  return sealed;
}

export type PdfSealVerdict =
  | { authentic: true; keyId: string; key: KeyStatus; reportId: string; status: string }
  | { authentic: false; reason: string; keyId?: string };

const SEAL_SHAPE = new RegExp(`^${SEAL_PREFIX}([0-9a-f]{${KEY_ID_LENGTH}}):([A-Za-z0-9+/]{86}==)$`);

/**
 * Whether `pdf` is, byte for byte, a PDF this installation sealed. Reasons are for people: what was
 * missing or did not match, never a stack.
 */
export function verifyPdfSeal(pdf: Buffer, keyring: SigningKeyring): PdfSealVerdict {
  if (pdf.subarray(0, 5).toString('latin1') !== '%PDF-') return { authentic: false, reason: 'not a PDF file' };
  const places = offsetsOf(pdf, SEAL_PREFIX);
  if (places.length === 0) return { authentic: false, reason: 'the PDF carries no seal of this system' };
  if (places.length > 1) return { authentic: false, reason: 'the PDF carries more than one seal' };
  const at = places[0]!;
  const match = SEAL_SHAPE.exec(pdf.subarray(at, at + SEAL_LENGTH).toString('latin1'));
  if (!match) return { authentic: false, reason: 'the seal is malformed' };
  const [, keyId, signature] = match as unknown as [string, string, string];
  const trusted = keyring.trusted(keyId);
  if (!trusted) return { authentic: false, reason: 'the seal was made with a key this installation does not trust', keyId };
  if (!verify(null, signedMessage(pdf, at), trusted.key, Buffer.from(signature, 'base64'))) {
    return { authentic: false, reason: 'the PDF was changed after it was sealed', keyId };
  }
  const marks = [...pdf.toString('latin1').matchAll(REPORT_MARK)];
  if (marks.length !== 1) return { authentic: false, reason: 'the sealed PDF does not name one report', keyId };
  const [, reportId, status] = marks[0] as unknown as [string, string, string];
  return { authentic: true, keyId, key: trusted.status, reportId, status };
}
