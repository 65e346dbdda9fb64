/**
 * The fill-in field of a report (`field`, an inline atom whose state is its attributes, see
 * shared/src/report-document/fields.ts) in the editor: free text as an input, a pick list as a
 * menu of its choices. Tab and Shift-Tab move between fields, from the text and from a field; a
 * value goes into the document (and through Yjs to everyone) as the node's `value` attribute.
 * Also the section heading's coded concept (`sectionCode`), so editing keeps it.
 */
import { FIELD_NODE, type FieldAttrs, isFilled, readFieldAttrs } from '@pacs/shared/report-document';
import { type Editor, Extension, Node } from '@tiptap/core';

const CONTROL = '[data-field-id] input, [data-field-id] select';

/** The fields' controls of an editor, in document order. */
function controlsOf(editor: Editor): HTMLElement[] {
  return [...editor.view.dom.querySelectorAll<HTMLElement>(CONTROL)];
}

/** Focuses the field after (or before) the caret; false when there is none. */
export function focusFieldFrom(editor: Editor, direction: 1 | -1): boolean {
  const { from } = editor.state.selection;
  const positioned = controlsOf(editor).map((control) => ({
    control,
    pos: editor.view.posAtDOM(control.closest('[data-field-id]')!, 0),
  }));
  const target = direction === 1 ? positioned.find((c) => c.pos >= from) : [...positioned].reverse().find((c) => c.pos < from);
  target?.control.focus();
  return target !== undefined;
}

/** Moves from one field's control to the next (or previous); false at either end. */
function focusNeighbour(editor: Editor, current: HTMLElement, direction: 1 | -1): boolean {
  const controls = controlsOf(editor);
  const next = controls[controls.indexOf(current) + direction];
  next?.focus();
  return next !== undefined;
}

/** Focuses the field with this id (after a refusal names it); false when it is not in the document. */
export function focusField(root: ParentNode, fieldId: string): boolean {
  const control = root.querySelector<HTMLElement>(`[data-field-id="${CSS.escape(fieldId)}"] :is(input, select)`);
  control?.focus();
  return control != null;
}

const attribute = (fallback: unknown) => ({ default: fallback, rendered: false });

export const FieldNode = Node.create({
  name: FIELD_NODE,
  group: 'inline',
  inline: true,
  atom: true,
  selectable: true,

  addAttributes() {
    return {
      fieldId: attribute(''),
      label: attribute(''),
      kind: attribute('text'),
      choices: attribute([]),
      required: attribute(false),
      value: attribute(''),
      code: attribute(null),
    };
  },

  parseHTML() {
    return [
      {
        tag: 'span[data-field]',
        getAttrs: (element) => {
          try {
            return readFieldAttrs(JSON.parse((element as HTMLElement).dataset.field ?? '{}') as Record<string, unknown>);
          } catch {
            return false;
          }
        },
      },
    ];
  },

  /** Copy, paste and the signed view: the value (or the label as a placeholder). */
  renderHTML({ node }) {
    const field = readFieldAttrs(node.attrs);
    return [
      'span',
      { 'data-field': JSON.stringify(field), 'data-field-id': field.fieldId, class: 'report-field' },
      field.value || `[${field.label}]`,
    ];
  },

  renderText({ node }) {
    return readFieldAttrs(node.attrs).value;
  },

  addKeyboardShortcuts() {
    return {
      Tab: ({ editor }) => focusFieldFrom(editor as Editor, 1),
      'Shift-Tab': ({ editor }) => focusFieldFrom(editor as Editor, -1),
    };
  },

  addNodeView() {
    return ({ node, getPos, editor }) => {
      let field: FieldAttrs = readFieldAttrs(node.attrs);
      const dom = document.createElement('span');
      dom.className = 'report-field';
      dom.contentEditable = 'false';
      dom.dataset.fieldId = field.fieldId;
      const control: HTMLInputElement | HTMLSelectElement =
        field.kind === 'choice' ? document.createElement('select') : document.createElement('input');
      control.setAttribute('aria-label', field.required ? `${field.label} (required)` : field.label);
      if (control instanceof HTMLInputElement) {
        control.type = 'text';
        control.placeholder = field.label;
        control.size = Math.max(6, Math.min(40, field.label.length + 2));
      }
      dom.append(control);

      const renderChoices = () => {
        if (!(control instanceof HTMLSelectElement)) return;
        const options = [`— ${field.label} —`, ...field.choices];
        control.replaceChildren(
          ...options.map((text, i) => {
            const option = document.createElement('option');
            option.value = i === 0 ? '' : text;
            option.textContent = text;
            return option;
          }),
        );
        // A value not among the choices (from another client) shows as unset.
        control.value = field.choices.includes(field.value) ? field.value : '';
      };
      const render = () => {
        if (control instanceof HTMLSelectElement) renderChoices();
        else if (document.activeElement !== control) control.value = field.value;
        dom.dataset.required = String(field.required);
        dom.dataset.missing = String(field.required && !isFilled(field));
        control.disabled = !editor.isEditable;
      };
      render();

      const commit = () => {
        const pos = typeof getPos === 'function' ? getPos() : undefined;
        if (pos === undefined || control.value === field.value) return;
        const { tr } = editor.state;
        editor.view.dispatch(tr.setNodeMarkup(pos, undefined, { ...field, value: control.value }));
      };
      control.addEventListener(control instanceof HTMLSelectElement ? 'change' : 'input', commit);
      control.addEventListener('keydown', (event) => {
        const key = event as KeyboardEvent;
        if (key.key === 'Tab' && focusNeighbour(editor, control, key.shiftKey ? -1 : 1)) key.preventDefault();
        else if (key.key === 'Enter' && control instanceof HTMLInputElement) {
          key.preventDefault();
          const pos = typeof getPos === 'function' ? getPos() : undefined;
          if (pos !== undefined)
            editor
              .chain()
              .focus()
              .setTextSelection(pos + 1)
              .run();
        }
      });
      const onEditable = () => {
        control.disabled = !editor.isEditable;
      };
      editor.on('update', onEditable);
      editor.on('transaction', onEditable);

      return {
        dom,
        update: (updated) => {
          if (updated.type.name !== FIELD_NODE) return false;
          field = readFieldAttrs(updated.attrs);
          render();
          return true;
        },
        stopEvent: (event) => event.target === control,
        ignoreMutation: () => true,
        destroy: () => {
          editor.off('update', onEditable);
          editor.off('transaction', onEditable);
        },
      };
    };
  },
});

/** Section headings keep their coded concept through edits (ProseMirror drops attributes it does not know). */
export const SectionCode = Extension.create({
  name: 'sectionCode',
  addGlobalAttributes() {
    return [{ types: ['heading'], attributes: { sectionCode: { default: null, rendered: false } } }];
  },
});
