/** Helpers for the report editor e2e and benchmark: the editor test hook, typing into a section. */
import type { Page } from 'playwright-core';

type EditorKind = 'live' | 'signed';

/** `editor.getText()` of the report's editor (carets are in the DOM; DOM text is not the document). */
export function editorText(page: Page, reportId: string, kind: EditorKind = 'live'): Promise<string | null> {
  return page.evaluate(
    ([key]) => {
      const editors = (window as unknown as { __pacsEditors?: Record<string, { getText(): string }> }).__pacsEditors;
      return editors?.[key!]?.getText() ?? null;
    },
    [`${kind}:${reportId}`],
  );
}

export function editorEditable(page: Page, reportId: string): Promise<boolean | null> {
  return page.evaluate(
    ([key]) => {
      const editors = (window as unknown as { __pacsEditors?: Record<string, { isEditable: boolean }> }).__pacsEditors;
      return editors?.[key!]?.isEditable ?? null;
    },
    [`live:${reportId}`],
  );
}

/** Puts the caret at the end of the first block after the section heading `title` (focusing the editor). */
export async function caretAtSection(page: Page, reportId: string, title: string): Promise<void> {
  const ok = await page.evaluate(
    ([key, heading]) => {
      interface PMNode {
        type: { name: string };
        textContent: string;
        nodeSize: number;
      }
      const editor = (
        window as unknown as {
          __pacsEditors?: Record<
            string,
            {
              state: { doc: { forEach(f: (node: PMNode, offset: number) => void): void } };
              commands: { setTextSelection(pos: number): boolean };
              view: { focus(): void; hasFocus(): boolean };
            }
          >;
        }
      ).__pacsEditors?.[key!];
      if (!editor) return false;
      let section: string | null = null;
      let target: number | null = null;
      editor.state.doc.forEach((node, offset) => {
        if (node.type.name === 'heading') section = node.textContent;
        else if (section === heading && target === null) target = offset + node.nodeSize - 1;
      });
      if (target === null) return false;
      // Selection first, then a synchronous DOM focus (Tiptap's focus command waits a frame,
      // and keys typed meanwhile would go elsewhere).
      editor.commands.setTextSelection(target);
      editor.view.focus();
      return editor.view.hasFocus();
    },
    [`live:${reportId}`, title],
  );
  if (!ok) throw new Error(`no section "${title}" in the editor`);
}

/** The report id of the report shown on the page. */
export async function shownReportId(page: Page): Promise<string> {
  const el = page.locator('.report-app > .report-document').first();
  await el.waitFor();
  return (await el.getAttribute('data-report-id'))!;
}
