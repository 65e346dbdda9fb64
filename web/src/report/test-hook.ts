/**
 * Browser tests compare `editor.getText()` (carets are in the DOM, so DOM text is not the
 * document). Editors register here under a key: `live:<reportId>` or `signed:<reportId>`.
 */
import type { Editor } from '@tiptap/react';

type Registry = Record<string, Editor>;

export function registerTestEditor(key: string, editor: Editor): () => void {
  const w = window as unknown as { __pacsEditors?: Registry };
  w.__pacsEditors ??= {};
  w.__pacsEditors[key] = editor;
  return () => {
    if (w.__pacsEditors?.[key] === editor) delete w.__pacsEditors[key];
  };
}
