/**
 * The report's Yjs document (REPORT_DOCUMENT_SHAPE): what Tiptap's Collaboration extension edits
 * through y-prosemirror. `getXmlFragment('default')` holds one Y.XmlElement per ProseMirror block
 * (`heading` with attribute `level`, `paragraph`, `bulletList`/`orderedList` of `listItem`), with
 * Y.XmlText leaves whose formatting attributes are the marks (`{ bold: {} }`). Seeding writes that
 * shape; reading walks the Yjs types directly (no DOM, no ProseMirror schema), in the browser and
 * on the server alike.
 */
import * as Y from 'yjs';
import { type ConceptCode, REPORT_DOCUMENT_SHAPE, type TemplateSection } from '../schemas/reports';
import { fieldParagraph } from './fields';

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

function heading(text: string, level: number, code: ConceptCode | undefined): Y.XmlElement {
  const h = new Y.XmlElement('heading');
  // y-prosemirror stores attributes as given; ProseMirror's heading level is a number.
  h.setAttribute('level', level as unknown as string);
  // The section's coded concept (RadLex), kept through editing into the signed content.
  if (code) h.setAttribute('sectionCode', code as unknown as string);
  const t = new Y.XmlText();
  t.insert(0, text);
  h.insert(0, [t]);
  return h;
}

/**
 * The Yjs update that seeds a new report document: per section a heading, its paragraphs, then one
 * "Label: [field]" paragraph per fill-in field.
 */
export function seedReportUpdate(sections: readonly Pick<TemplateSection, 'title' | 'defaultText' | 'fields' | 'code'>[]): Uint8Array {
  const doc = new Y.Doc();
  const fragment = doc.getXmlFragment(REPORT_DOCUMENT_SHAPE.fragment);
  const nodes: Y.XmlElement[] = [];
  for (const section of sections) {
    nodes.push(heading(section.title, REPORT_DOCUMENT_SHAPE.sectionHeadingLevel, section.code));
    const fields = section.fields ?? [];
    // A section of fields only starts with its fields, not with an empty line.
    if (section.defaultText || fields.length === 0) for (const line of (section.defaultText ?? '').split('\n')) nodes.push(paragraph(line));
    for (const field of fields) nodes.push(fieldParagraph(field));
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

/** The document as ProseMirror JSON (what the signed content and the PDF are made from). */
export function proseMirrorJson(doc: Y.Doc): PMNode {
  return { type: 'doc', content: childrenOf(doc.getXmlFragment(REPORT_DOCUMENT_SHAPE.fragment)) };
}
