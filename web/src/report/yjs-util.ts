/**
 * Small Yjs helpers for the report editor: base64, state-vector arithmetic, reading the section
 * text of a report document (REPORT_DOCUMENT_SHAPE) and peeking at y-websocket frames.
 */
import { REPORT_DOCUMENT_SHAPE } from '@pacs/shared';
import * as Y from 'yjs';

export type StateVector = Map<number, number>;

export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

export function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

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

/** True when `have` holds every clock of `want`. */
export function covers(have: ReadonlyMap<number, number>, want: ReadonlyMap<number, number>): boolean {
  for (const [client, clock] of want) if ((have.get(client) ?? 0) < clock) return false;
  return true;
}

// ---------------------------------------------------------------- document text

export interface SectionText {
  title: string;
  text: string;
}

function inline(node: Y.XmlElement | Y.XmlText | Y.XmlHook): string {
  if (node instanceof Y.XmlText) {
    return (node.toDelta() as { insert: unknown }[]).map((op) => (typeof op.insert === 'string' ? op.insert : '')).join('');
  }
  if (node instanceof Y.XmlElement) {
    const parts = node.toArray().map((child) => inline(child as Y.XmlElement | Y.XmlText));
    return node.nodeName === 'paragraph' || node.nodeName === 'heading' ? parts.join('') : parts.filter(Boolean).join('\n');
  }
  return '';
}

/**
 * The report as sections: each level-2 heading starts one; blocks before the first heading form
 * an untitled section. A section's text is its blocks' text, one line per block.
 */
export function sectionTexts(doc: Y.Doc): SectionText[] {
  const fragment = doc.getXmlFragment(REPORT_DOCUMENT_SHAPE.fragment);
  const sections: SectionText[] = [];
  let current: { title: string; lines: string[] } | null = null;
  const flush = () => {
    if (current) sections.push({ title: current.title, text: current.lines.join('\n').trim() });
  };
  for (const node of fragment.toArray()) {
    if (
      node instanceof Y.XmlElement &&
      node.nodeName === 'heading' &&
      Number(node.getAttribute('level')) === REPORT_DOCUMENT_SHAPE.sectionHeadingLevel
    ) {
      flush();
      current = { title: inline(node), lines: [] };
      continue;
    }
    if (!current) current = { title: '', lines: [] };
    current.lines.push(inline(node as Y.XmlElement));
  }
  flush();
  return sections;
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
