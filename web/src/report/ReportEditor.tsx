/**
 * The Tiptap editor bound to a report's Yjs document: Collaboration (y-prosemirror, with its undo
 * manager that only undoes this user's edits) and collaboration carets labelled name · role.
 */
import { Collaboration } from '@tiptap/extension-collaboration';
import { CollaborationCaret } from '@tiptap/extension-collaboration-caret';
import { type Editor, EditorContent, useEditor } from '@tiptap/react';
import { StarterKit } from '@tiptap/starter-kit';
import { useEffect, useRef } from 'react';
import { MacroTriggers } from '../macros/trigger-extension';
import { followViewerLink, REPORT_LINK_OPTIONS, registerLiveEditor } from '../measurements/report-links';
import { AuthorColours, type ColouredAuthor, setAuthorColours } from './authorship/author-colours';
import type { AwarenessUser, ReportConnection } from './connection';
import { FieldNode, SectionCode } from './fields/field-node';
import { type Macro, MacroPicker } from './MacroPicker';
import { registerTestEditor } from './test-hook';

function caret(user: Record<string, unknown>): HTMLElement {
  const cursor = document.createElement('span');
  cursor.classList.add('collaboration-carets__caret');
  cursor.style.borderColor = String(user.color ?? '#888');
  const label = document.createElement('div');
  label.classList.add('collaboration-carets__label');
  label.style.backgroundColor = String(user.color ?? '#888');
  label.textContent = `${String(user.name ?? '?')} · ${String(user.role ?? '')}`;
  cursor.append(label);
  return cursor;
}

export function ReportEditor({
  connection,
  user,
  editable,
  macros,
  hookKey,
  label,
  authors = null,
  onUnknownAuthor,
}: {
  connection: ReportConnection;
  user: AwarenessUser;
  editable: boolean;
  macros: readonly Macro[];
  hookKey: string;
  label: string;
  /** Colour the text by author with these (client id → author); null: plain text. */
  authors?: ReadonlyMap<number, ColouredAuthor> | null;
  onUnknownAuthor?: () => void;
}) {
  // The trigger lookup reads the latest macros: the editor itself lives as long as the connection.
  const macrosRef = useRef(macros);
  macrosRef.current = macros;
  const unknownAuthorRef = useRef(onUnknownAuthor);
  unknownAuthorRef.current = onUnknownAuthor;
  const editor = useEditor(
    {
      editable,
      extensions: [
        MacroTriggers.configure({ lookup: (trigger) => macrosRef.current.find((m) => m.trigger === trigger)?.text }),
        StarterKit.configure({ undoRedo: false, link: REPORT_LINK_OPTIONS }),
        FieldNode,
        SectionCode,
        Collaboration.configure({ document: connection.doc }),
        CollaborationCaret.configure({ provider: { awareness: connection.awareness }, user, render: caret }),
        AuthorColours.configure({ onUnknownClient: () => unknownAuthorRef.current?.() }),
      ],
      editorProps: {
        attributes: { 'aria-label': label, role: 'textbox', 'aria-multiline': 'true', class: 'report-prose' },
        // A click elsewhere starts a new undo step, as in word processors (otherwise typing here
        // within the capture window would be undone together with what was typed before).
        handleClick: (view) => {
          const undo = view.state.plugins.find((p) => (p as unknown as { key: string }).key.startsWith('y-undo$'));
          (undo?.getState(view.state) as { undoManager?: { stopCapturing(): void } } | undefined)?.undoManager?.stopCapturing();
          return false;
        },
      },
    },
    [connection],
  );
  useEffect(() => {
    if (editor && editor.isEditable !== editable) editor.setEditable(editable);
  }, [editor, editable]);
  useEffect(() => {
    if (editor && !editor.isDestroyed) setAuthorColours(editor.view, authors !== null, authors ?? undefined);
  }, [editor, authors]);
  useEffect(() => (editor ? registerTestEditor(hookKey, editor) : undefined), [editor, hookKey]);
  useEffect(() => (editor ? registerLiveEditor(hookKey.replace(/^live:/, ''), editor) : undefined), [editor, hookKey]);
  if (!editor) return null;
  return (
    // biome-ignore lint/a11y/useKeyWithClickEvents lint/a11y/noStaticElementInteractions: the links inside are the interactive elements
    <div className="report-editor" data-editable={editable} onClick={followViewerLink}>
      <EditorToolbar editor={editor} editable={editable} />
      <MacroPicker macros={macros} disabled={!editable} onInsert={(text) => editor.chain().focus().insertContent(text).run()} />
      <EditorContent editor={editor} />
    </div>
  );
}

function EditorToolbar({ editor, editable }: { editor: Editor; editable: boolean }) {
  return (
    <div className="report-toolbar" role="toolbar" aria-label="Formatting">
      <button type="button" disabled={!editable} onClick={() => editor.chain().focus().toggleBold().run()} aria-label="Bold">
        <strong>B</strong>
      </button>
      <button type="button" disabled={!editable} onClick={() => editor.chain().focus().toggleItalic().run()} aria-label="Italic">
        <em>I</em>
      </button>
      <button type="button" disabled={!editable} onClick={() => editor.chain().focus().toggleBulletList().run()}>
        • List
      </button>
      <button type="button" disabled={!editable} onClick={() => editor.chain().focus().toggleOrderedList().run()}>
        1. List
      </button>
      <button
        type="button"
        disabled={!editable}
        onClick={() => editor.chain().focus().undo().run()}
        title="Undo your own last edit (Ctrl+Z)"
      >
        Undo
      </button>
      <button type="button" disabled={!editable} onClick={() => editor.chain().focus().redo().run()} title="Redo (Ctrl+Shift+Z)">
        Redo
      </button>
    </div>
  );
}

/** The signed content (ProseMirror JSON the API verified against its hash), read-only. */
export function SignedContent({ doc, hookKey, label }: { doc: unknown; hookKey: string; label: string }) {
  const editor = useEditor(
    {
      editable: false,
      extensions: [StarterKit.configure({ link: REPORT_LINK_OPTIONS }), FieldNode, SectionCode],
      content: doc as object,
      editorProps: { attributes: { 'aria-label': label, class: 'report-prose', 'aria-readonly': 'true' } },
    },
    [doc],
  );
  useEffect(() => (editor ? registerTestEditor(hookKey, editor) : undefined), [editor, hookKey]);
  return editor ? <EditorContent editor={editor} className="report-editor signed" onClick={followViewerLink} /> : null;
}
