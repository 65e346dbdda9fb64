/**
 * "Colour by author" in the live editor: every character is decorated with the author of the Yjs
 * client id that inserted it (the sync-server binds client ids to users; the API lists them), a
 * field's value with whoever set it. y-prosemirror keeps the Yjs fragment and the ProseMirror
 * document aligned block by block, so a textblock's Yjs children are walked beside its inline
 * content; a run whose text does not match (the binding has not caught up yet) is left plain.
 */
import { Extension } from '@tiptap/core';
import type { Node as PMNode } from '@tiptap/pm/model';
import { type EditorState, Plugin, PluginKey, type Transaction } from '@tiptap/pm/state';
import { Decoration, DecorationSet, type EditorView } from '@tiptap/pm/view';
import * as Y from 'yjs';

export interface ColouredAuthor {
  userId: string;
  name: string;
  /** A CSS colour; null leaves the author's text plain (the template's). */
  colour: string | null;
}

export interface AuthorColoursOptions {
  /** Re-asks the server who the authors are (a client id it did not know was seen). */
  onUnknownClient: () => void;
}

interface ColoursState {
  enabled: boolean;
  authors: ReadonlyMap<number, ColouredAuthor>;
  decorations: DecorationSet;
}

type ColoursMeta = { enabled?: boolean; authors?: ReadonlyMap<number, ColouredAuthor>; decorations?: DecorationSet };

export const authorColoursKey = new PluginKey<ColoursState>('author-colours');

/** Quiet time after the last change before the decorations are recomputed (the Yjs side is written after the view updates). */
const RECOMPUTE_MS = 120;

/** The Yjs type y-prosemirror bound to each ProseMirror node (its sync plugin's key is `y-sync$`). */
function boundTypes(state: EditorState): Map<PMNode, Y.XmlElement> | null {
  const sync = state.plugins.find((p) => (p as unknown as { key: string }).key.startsWith('y-sync$'));
  const binding = (sync?.getState(state) as { binding?: { mapping: Map<unknown, unknown> } } | undefined)?.binding;
  if (!binding) return null;
  const byNode = new Map<PMNode, Y.XmlElement>();
  for (const [type, node] of binding.mapping) if (type instanceof Y.XmlElement && !Array.isArray(node)) byNode.set(node as PMNode, type);
  return byNode;
}

/** Decorations for the given authors; `unknown` collects client ids with no author. */
export function authorDecorations(state: EditorState, authors: ReadonlyMap<number, ColouredAuthor>, unknown: Set<number>): DecorationSet {
  const types = boundTypes(state);
  if (!types) return DecorationSet.empty;
  const { doc } = state;
  const decorations: Decoration[] = [];
  const mark = (from: number, to: number, client: number) => {
    const author = authors.get(client);
    if (!author) unknown.add(client);
    if (!author?.colour) return;
    decorations.push(
      Decoration.inline(from, to, {
        class: 'author-mark',
        style: `--author-colour: ${author.colour}`,
        'data-author': author.userId,
        title: author.name,
      }),
    );
  };
  doc.descendants((node, pos) => {
    if (!node.isTextblock) return true;
    const element = types.get(node);
    if (!element) return false;
    let at = pos + 1;
    for (const child of element.toArray()) {
      if (child instanceof Y.XmlText) {
        for (let item = child._start; item !== null; item = item.right) {
          if (item.deleted || !item.countable) continue;
          const end = at + item.length;
          if (item.content instanceof Y.ContentString && end <= doc.content.size && doc.textBetween(at, end) === item.content.str) {
            mark(at, end, item.id.client);
          }
          at = end;
        }
      } else if (child instanceof Y.XmlElement) {
        const valueItem = child._map.get('value');
        if (valueItem && !valueItem.deleted && child.getAttribute('value')) mark(at, at + 1, valueItem.id.client);
        at += 1;
      }
    }
    return false;
  });
  return DecorationSet.create(doc, decorations);
}

/** Switches colouring on or off, with the authors to use. */
export function setAuthorColours(view: EditorView, enabled: boolean, authors?: ReadonlyMap<number, ColouredAuthor>): void {
  view.dispatch(view.state.tr.setMeta(authorColoursKey, { enabled, ...(authors ? { authors } : {}) } satisfies ColoursMeta));
}

export const AuthorColours = Extension.create<AuthorColoursOptions>({
  name: 'authorColours',
  addOptions: () => ({ onUnknownClient: () => {} }),
  addProseMirrorPlugins() {
    const options = this.options;
    return [
      new Plugin<ColoursState>({
        key: authorColoursKey,
        state: {
          init: () => ({ enabled: false, authors: new Map(), decorations: DecorationSet.empty }),
          apply(tr: Transaction, previous: ColoursState): ColoursState {
            const meta = tr.getMeta(authorColoursKey) as ColoursMeta | undefined;
            const next = { ...previous, decorations: previous.decorations.map(tr.mapping, tr.doc) };
            if (!meta) return next;
            if (meta.enabled !== undefined) next.enabled = meta.enabled;
            if (meta.authors) next.authors = meta.authors;
            if (!next.enabled) next.decorations = DecorationSet.empty;
            else if (meta.decorations) next.decorations = meta.decorations;
            return next;
          },
        },
        props: { decorations: (state) => authorColoursKey.getState(state)?.decorations },
        view() {
          let timer: ReturnType<typeof setTimeout> | null = null;
          let reported = new Set<number>();
          const recompute = (view: EditorView) => {
            timer = null;
            const state = authorColoursKey.getState(view.state);
            if (!state?.enabled || view.isDestroyed) return;
            const unknown = new Set<number>();
            const decorations = authorDecorations(view.state, state.authors, unknown);
            view.dispatch(view.state.tr.setMeta(authorColoursKey, { decorations } satisfies ColoursMeta).setMeta('addToHistory', false));
            if ([...unknown].some((client) => !reported.has(client))) {
              reported = new Set([...reported, ...unknown]);
              options.onUnknownClient();
            }
          };
          return {
            update(view, previous) {
              const state = authorColoursKey.getState(view.state);
              const before = authorColoursKey.getState(previous);
              if (!state?.enabled) return;
              const changed = view.state.doc !== previous.doc || state.authors !== before?.authors || state.enabled !== before?.enabled;
              if (!changed) return;
              if (state.authors !== before?.authors) reported = new Set();
              if (timer) clearTimeout(timer);
              timer = setTimeout(() => recompute(view), RECOMPUTE_MS);
            },
            destroy() {
              if (timer) clearTimeout(timer);
            },
          };
        },
      }),
    ];
  },
});
