/**
 * Typing `.<trigger>` and then a space or Tab replaces it with the macro's text (the user's own
 * macros first, then the built-in ones). Runs before the fill-in fields' Tab.
 */
import { Extension } from '@tiptap/core';

const TRIGGER_BEFORE_CARET = /(?:^|\s)\.([a-z0-9][a-z0-9-]{0,31})$/;

export interface MacroTriggerOptions {
  /** The text for a trigger, or undefined; read at each keystroke so new macros count at once. */
  lookup: (trigger: string) => string | undefined;
}

export const MacroTriggers = Extension.create<MacroTriggerOptions>({
  name: 'macroTriggers',
  priority: 1000,
  addOptions() {
    return { lookup: () => undefined };
  },
  addKeyboardShortcuts() {
    const expand = (after: string) => () => {
      const { state } = this.editor;
      const { $from, empty } = state.selection;
      if (!empty || !$from.parent.isTextblock) return false;
      const before = $from.parent.textBetween(0, $from.parentOffset, undefined, '\ufffc');
      const match = TRIGGER_BEFORE_CARET.exec(before);
      if (!match) return false;
      const text = this.options.lookup(match[1]!);
      if (text === undefined) return false;
      const from = $from.pos - match[1]!.length - 1;
      // As text, never parsed as markup.
      this.editor.view.dispatch(state.tr.insertText(`${text}${after}`, from, $from.pos));
      return true;
    };
    return { Space: expand(' '), Tab: expand('') };
  },
});
