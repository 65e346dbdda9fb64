/**
 * Small Yjs helpers for the report editor: state-vector arithmetic, the sections of a report
 * document as the signed content and the PDF have them (the shared reader), and peeking at
 * y-websocket frames. Base64 and `covers` are the shared report-document's.
 */
import { reportSections } from '@pacs/shared/report-document';
import type * as Y from 'yjs';

export { covers, fromBase64, toBase64 } from '@pacs/shared/report-document';

export type StateVector = Map<number, number>;

/** Every clock of `b` raised into `a` (in place). Returns whether anything grew. */
export function mergeInto(a: StateVector, b: ReadonlyMap<number, number>): boolean {
  let grew = false;
  for (const [client, clock] of b) {
    if ((a.get(client) ?? 0) < clock) {
      a.set(client, clock);
      grew = true;
    }
  }
  return grew;
}

/** Yjs items (characters, blocks, marks) `local` holds beyond `server`. */
export function itemsAhead(local: ReadonlyMap<number, number>, server: ReadonlyMap<number, number>): number {
  let n = 0;
  for (const [client, clock] of local) n += Math.max(0, clock - (server.get(client) ?? 0));
  return n;
}

// ---------------------------------------------------------------- document text

export interface SectionText {
  title: string;
  text: string;
}

/**
 * The report as sections, split and worded as the signed content and the PDF split them (the one
 * shared reader): the late-edits panel compares exactly what was signed.
 */
export function sectionTexts(doc: Y.Doc): SectionText[] {
  return reportSections(doc).map(({ title, text }) => ({ title, text }));
}

export interface SectionChange {
  title: string;
  before: string;
  after: string;
  /** Lines of `after` that `before` does not have. */
  added: string[];
}

/** Sections whose text differs between two versions, in the order of `after`. */
export function changedSections(before: readonly SectionText[], after: readonly SectionText[]): SectionChange[] {
  const out: SectionChange[] = [];
  const seen = new Set<string>();
  for (const section of after) {
    seen.add(section.title);
    const old = before.find((s) => s.title === section.title)?.text ?? '';
    if (old === section.text) continue;
    const oldLines = new Set(old.split('\n'));
    out.push({
      title: section.title,
      before: old,
      after: section.text,
      added: section.text.split('\n').filter((l) => l && !oldLines.has(l)),
    });
  }
  for (const section of before) {
    if (!seen.has(section.title) && section.text) out.push({ title: section.title, before: section.text, after: '', added: [] });
  }
  return out;
}

// ---------------------------------------------------------------- y-websocket frames

export interface Cursor {
  arr: Uint8Array;
  pos: number;
}

export function readVarUint(c: Cursor): number {
  let n = 0;
  let mult = 1;
  for (;;) {
    const byte = c.arr[c.pos++];
    if (byte === undefined) throw new RangeError('truncated varuint');
    n += (byte & 0x7f) * mult;
    if (byte < 0x80) return n;
    mult *= 128;
  }
}

export function readVarBytes(c: Cursor): Uint8Array {
  const len = readVarUint(c);
  const bytes = c.arr.subarray(c.pos, c.pos + len);
  c.pos += len;
  return bytes;
}

export function readVarString(c: Cursor): string {
  return new TextDecoder().decode(readVarBytes(c));
}

/** The awareness clock an awareness update carries for `clientId`, if any. */
export function awarenessClockOf(update: Uint8Array, clientId: number): number | null {
  const c: Cursor = { arr: update, pos: 0 };
  const count = readVarUint(c);
  for (let i = 0; i < count; i++) {
    const client = readVarUint(c);
    const clock = readVarUint(c);
    readVarBytes(c);
    if (client === clientId) return clock;
  }
  return null;
}
