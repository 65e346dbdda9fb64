/**
 * The one reader of a report's sections, used for the signed content, the PDF and the late-edits
 * panel alike, so a report splits the same way everywhere: every heading of level 1 or 2 starts a
 * section; blocks before the first heading form an untitled preamble. A section's text is one line
 * per block, list items as "- " or "1. " lines.
 */
import type * as Y from 'yjs';
import { REPORT_DOCUMENT_SHAPE, REPORT_SECTIONS, type ReportSectionText } from '../schemas/reports';
import { type PMNode, proseMirrorJson } from './document';
import { FIELD_NODE, fieldText } from './fields';

export function inlineText(node: PMNode): string {
  if (node.type === 'text') return node.text ?? '';
  if (node.type === 'hardBreak') return '\n';
  if (node.type === FIELD_NODE) return fieldText(node);
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

/** The standard key for a standard title, else a slug of the title; unique within the report. */
export function sectionKey(title: string, used: Set<string>): string {
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

const startsSection = (node: PMNode) =>
  node.type === 'heading' && Number(node.attrs?.level ?? 1) <= REPORT_DOCUMENT_SHAPE.sectionHeadingLevel;

/** The sections of a document in ProseMirror JSON; empty untitled ones are left out. */
export function sectionsOf(pm: PMNode): ReportSectionText[] {
  const sections: ReportSectionText[] = [];
  const used = new Set<string>();
  let current: { key: string; title: string; blocks: string[] } | null = null;
  const flush = () => {
    if (current) sections.push({ key: current.key, title: current.title, text: current.blocks.join('\n').replace(/\s+$/, '') });
  };
  for (const node of pm.content ?? []) {
    if (startsSection(node)) {
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

/** The sections of a live Yjs document. */
export function reportSections(doc: Y.Doc): ReportSectionText[] {
  return sectionsOf(proseMirrorJson(doc));
}

/** The sections as plain text: title line, text, a blank line between sections. */
export function plainText(sections: readonly ReportSectionText[]): string {
  return sections.map((s) => (s.title ? `${s.title}\n${s.text}` : s.text)).join('\n\n');
}
