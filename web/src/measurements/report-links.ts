/**
 * Measurements in the report's text: the editor's link settings (only viewer links are links, so a
 * pasted address cannot become one), following such a link inside the app, and inserting a
 * measurement's sentence at the end of the Findings section of the live editor.
 */
import { type MeasurementCitation, parseViewerLink } from '@pacs/shared';
import type { Editor } from '@tiptap/react';
import type { MouseEvent } from 'react';
import { navigate } from '../router';

export const REPORT_LINK_OPTIONS = {
  openOnClick: false,
  autolink: false,
  linkOnPaste: false,
  HTMLAttributes: { target: null, rel: null, class: 'measurement-link' },
  isAllowedUri: (url: string) => parseViewerLink(url) !== null,
} as const;

/** A click on a viewer link in the report opens the viewer at its image. */
export function followViewerLink(event: MouseEvent<HTMLElement>): void {
  const anchor = (event.target as Element).closest?.('a[href]');
  const href = anchor?.getAttribute('href') ?? '';
  if (!anchor || !parseViewerLink(href)) return;
  event.preventDefault();
  navigate(href);
}

const liveEditors = new Map<string, Editor>();

/** The report editor registers here while it is open, so the measurements panel can write into it. */
export function registerLiveEditor(reportId: string, editor: Editor): () => void {
  liveEditors.set(reportId, editor);
  return () => {
    if (liveEditors.get(reportId) === editor) liveEditors.delete(reportId);
  };
}

const FINDINGS = 'findings';

/** End of the Findings section: before the next section heading after the "Findings" heading, else the end. */
function findingsEnd(editor: Editor): number {
  const { doc } = editor.state;
  let inFindings = false;
  let end: number | null = null;
  doc.forEach((node, offset) => {
    if (end !== null || node.type.name !== 'heading' || Number(node.attrs.level ?? 1) > 2) return;
    if (inFindings) end = offset;
    else if (node.textContent.trim().toLowerCase() === FINDINGS) inFindings = true;
  });
  return end ?? doc.content.size;
}

/** Inserts the sentence as a paragraph of its own whose text links to the image; false when no editable editor is open. */
export function insertCitation(reportId: string, citation: MeasurementCitation): boolean {
  const editor = liveEditors.get(reportId);
  if (!editor?.isEditable) return false;
  const at = findingsEnd(editor);
  return editor
    .chain()
    .insertContentAt(at, {
      type: 'paragraph',
      content: [{ type: 'text', text: citation.text, marks: [{ type: 'link', attrs: { href: citation.href } }] }],
    })
    .run();
}
