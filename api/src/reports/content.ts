/**
 * The report's Yjs document ↔ what the API stores and prints.
 *
 * Shape (shared REPORT_DOCUMENT_SHAPE, what Tiptap's Collaboration extension edits through
 * y-prosemirror): `ydoc.getXmlFragment('default')` with one Y.XmlElement per ProseMirror block
 * (`heading` with attribute `level`, `paragraph`, `bulletList`/`orderedList` of `listItem`) and
 * Y.XmlText leaves whose formatting attributes are the marks (`{ bold: {} }`, `{ italic: {} }`).
 * Sections start with a level-2 heading.
 *
 * Conversion walks the Yjs types directly: no DOM, no ProseMirror schema.
 */
import { REPORT_DOCUMENT_SHAPE, REPORT_SECTIONS, type ReportSectionText, type TemplateSection } from '@pacs/shared';
import * as Y from 'yjs';

export interface PMMark {
  type: string;
  attrs?: Record<string, unknown>;
}
export interface PMNode {
  type: string;
  attrs?: Record<string, unknown>;
  content?: PMNode[];
  text?: string;
  marks?: PMMark[];
}

export const b64 = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength).toString('base64');
export const unb64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));

// ---------------------------------------------------------------- seeding

function paragraph(text: string): Y.XmlElement {
  const p = new Y.XmlElement('paragraph');
  if (text) {
    const t = new Y.XmlText();
    t.insert(0, text);
    p.insert(0, [t]);
  }
  return p;
}

function heading(text: string, level: number): Y.XmlElement {
  const h = new Y.XmlElement('heading');
  h.setAttribute('level', level as unknown as string);
  const t = new Y.XmlText();
  t.insert(0, text);
  h.insert(0, [t]);
  return h;
}

/** The Yjs update that seeds a new report document: a heading and a paragraph per section. */
export function seedUpdate(sections: readonly Pick<TemplateSection, 'title' | 'defaultText'>[]): Uint8Array {
  const doc = new Y.Doc();
  const fragment = doc.getXmlFragment(REPORT_DOCUMENT_SHAPE.fragment);
  const nodes: Y.XmlElement[] = [];
  for (const section of sections) {
    nodes.push(heading(section.title, REPORT_DOCUMENT_SHAPE.sectionHeadingLevel));
    const lines = (section.defaultText ?? '').split('\n');
    for (const line of lines) nodes.push(paragraph(line));
  }
  fragment.insert(0, nodes);
  const update = Y.encodeStateAsUpdate(doc);
  doc.destroy();
  return update;
}

// ---------------------------------------------------------------- Yjs → ProseMirror JSON

/** y-prosemirror names overlapping marks of one type `name--<hash>`. */
const markName = (key: string) => key.replace(/--[A-Za-z0-9+/=]+$/, '');

function textNodes(text: Y.XmlText): PMNode[] {
  const out: PMNode[] = [];
  for (const op of text.toDelta() as { insert: unknown; attributes?: Record<string, unknown> }[]) {
    if (typeof op.insert !== 'string' || op.insert.length === 0) continue;
    const node: PMNode = { type: 'text', text: op.insert };
    const attributes = op.attributes ?? {};
    const marks = Object.keys(attributes)
      .sort()
      .map((key) => {
        const value = attributes[key];
        const mark: PMMark = { type: markName(key) };
        if (value && typeof value === 'object' && Object.keys(value).length > 0) mark.attrs = value as Record<string, unknown>;
        return mark;
      });
    if (marks.length > 0) node.marks = marks;
    out.push(node);
  }
  return out;
}

function elementNode(element: Y.XmlElement): PMNode {
  const node: PMNode = { type: element.nodeName };
  const attrs = element.getAttributes() as Record<string, unknown>;
  if (Object.keys(attrs).length > 0) node.attrs = attrs;
  const content = childrenOf(element);
  if (content.length > 0) node.content = content;
  return node;
}

function childrenOf(parent: Y.XmlFragment | Y.XmlElement): PMNode[] {
  const out: PMNode[] = [];
  for (const child of parent.toArray()) {
    if (child instanceof Y.XmlText) out.push(...textNodes(child));
    else if (child instanceof Y.XmlElement) out.push(elementNode(child));
  }
  return out;
}

export function proseMirrorJson(doc: Y.Doc): PMNode {
  const fragment = doc.getXmlFragment(REPORT_DOCUMENT_SHAPE.fragment);
  return { type: 'doc', content: childrenOf(fragment) };
}

// ---------------------------------------------------------------- ProseMirror JSON → text

export function inlineText(node: PMNode): string {
  if (node.type === 'text') return node.text ?? '';
  if (node.type === 'hardBreak') return '\n';
  return (node.content ?? []).map(inlineText).join('');
}

/** Plain text of a block node, lists as "- " / "1. " lines. */
export function blockText(node: PMNode, indent = ''): string {
  if (node.type === 'bulletList' || node.type === 'orderedList') {
    const start = Number(node.attrs?.start ?? 1);
    return (node.content ?? [])
      .map((item, i) => {
        const bullet = node.type === 'bulletList' ? '- ' : `${start + i}. `;
        const body = (item.content ?? []).map((child) => blockText(child, `${indent}  `)).join('\n');
        return `${indent}${bullet}${body.trimStart()}`;
      })
      .join('\n');
  }
  if (node.type === 'paragraph' || node.type === 'heading' || node.type === 'text') return `${indent}${inlineText(node)}`;
  return (node.content ?? []).map((child) => blockText(child, indent)).join('\n');
}

const TITLE_KEYS = new Map<string, string>(REPORT_SECTIONS.map((s) => [s.title.toLowerCase(), s.key]));

function sectionKey(title: string, used: Set<string>): string {
  const base =
    TITLE_KEYS.get(title.trim().toLowerCase()) ??
    (title
      .toLowerCase()
      .normalize('NFKD')
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 40) ||
      'section');
  let key = base;
  for (let i = 2; used.has(key); i += 1) key = `${base}-${i}`;
  used.add(key);
  return key;
}

/** Sections: each level-2 heading starts one; text before the first heading is the preamble. */
export function sectionsOf(pm: PMNode): ReportSectionText[] {
  const sections: ReportSectionText[] = [];
  const used = new Set<string>();
  let current: { key: string; title: string; blocks: string[] } | null = null;
  const flush = () => {
    if (current) sections.push({ key: current.key, title: current.title, text: current.blocks.join('\n').replace(/\s+$/, '') });
  };
  for (const node of pm.content ?? []) {
    if (node.type === 'heading' && Number(node.attrs?.level ?? 1) <= REPORT_DOCUMENT_SHAPE.sectionHeadingLevel) {
      flush();
      const title = inlineText(node).trim();
      current = { key: sectionKey(title, used), title, blocks: [] };
      continue;
    }
    if (!current) current = { key: sectionKey('preamble', used), title: '', blocks: [] };
    current.blocks.push(blockText(node));
  }
  flush();
  return sections.filter((s) => s.title !== '' || s.text !== '');
}

export function plainText(sections: readonly ReportSectionText[]): string {
  return sections.map((s) => (s.title ? `${s.title}\n${s.text}` : s.text)).join('\n\n');
}

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
    const seen = Y.decodeStateVector(seenStateVector);
    for (const [client, clock] of Y.decodeStateVector(Y.encodeStateVector(doc))) {
      if (clock > (seen.get(client) ?? 0)) return false;
    }
    if (seenSnapshot) {
      const snap = Y.decodeSnapshot(seenSnapshot);
      const ds = Y.createDeleteSetFromStructStore(doc.store);
      if (!Y.equalDeleteSets(snap.ds, Y.mergeDeleteSets([snap.ds, ds]))) return false;
    }
    return true;
  } finally {
    doc.destroy();
  }
}
