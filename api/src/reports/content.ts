/**
 * What the API signs and prints of a report's Yjs document: the canonical content (ProseMirror JSON
 * and sections, read by the shared report-document reader) and the "what you saw" check on a
 * document that is already locked. The document's shape, seeding and sections live in
 * `@pacs/shared/report-document`, so the web reads a report exactly as it is signed.
 */
import type { ReportSectionText } from '@pacs/shared';
import { holdsUnseen, type PMNode, plainText, proseMirrorJson, sectionsOf } from '@pacs/shared/report-document';
import * as Y from 'yjs';

export type { PMMark, PMNode } from '@pacs/shared/report-document';
// The API's short names for the shared base64 and seeding.
export { fromBase64 as unb64, seedReportUpdate as seedUpdate, toBase64 as b64 } from '@pacs/shared/report-document';

// ---------------------------------------------------------------- canonical form

/** JSON with object keys sorted at every level and no whitespace: the same content, the same bytes. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export interface SignedContent {
  /** canonicalJson({ doc, sections }) as stored in reports.contentJson. */
  contentJson: string;
  contentText: string;
  doc: PMNode;
  sections: ReportSectionText[];
}

/** Final content from the locked document's full state (the sync-server's lock answer). */
export function contentFromUpdate(update: Uint8Array): SignedContent {
  const doc = new Y.Doc();
  try {
    Y.applyUpdate(doc, update);
    const pm = proseMirrorJson(doc);
    const sections = sectionsOf(pm);
    return { contentJson: canonicalJson({ doc: pm, sections }), contentText: plainText(sections), doc: pm, sections };
  } finally {
    doc.destroy();
  }
}

/** "Sign what you saw" for an already-locked document: the locked state holds nothing unseen. */
export function coversLockedState(lockedUpdate: Uint8Array, seenStateVector: Uint8Array, seenSnapshot?: Uint8Array): boolean {
  const doc = new Y.Doc();
  try {
    Y.applyUpdate(doc, lockedUpdate);
    return !holdsUnseen(doc, Y.decodeStateVector(seenStateVector), seenSnapshot ? Y.decodeSnapshot(seenSnapshot) : undefined);
  } finally {
    doc.destroy();
  }
}

/** Whether two Yjs updates hold the same document (the same ProseMirror JSON), whoever made them. */
export function sameContent(a: Uint8Array, b: Uint8Array): boolean {
  const read = (update: Uint8Array) => {
    const doc = new Y.Doc();
    try {
      Y.applyUpdate(doc, update);
      return canonicalJson(proseMirrorJson(doc));
    } finally {
      doc.destroy();
    }
  };
  return read(a) === read(b);
}
