/**
 * Colour by author in the live editor: real Tiptap + y-prosemirror on a real Y.Doc that three
 * clients (the template, the resident, the attending) wrote into; the decorations cover exactly
 * each author's characters and a field's value, an unknown client id asks for the authors once, and
 * switching off removes every decoration.
 */
import { seedReportUpdate } from '@pacs/shared/report-document';
import { Editor } from '@tiptap/core';
import { Collaboration } from '@tiptap/extension-collaboration';
import { StarterKit } from '@tiptap/starter-kit';
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as Y from 'yjs';
import { eventually } from '../../test/eventually';
import { FieldNode, SectionCode } from '../fields/field-node';
import { AuthorColours, authorColoursKey, type ColouredAuthor, setAuthorColours } from './author-colours';

const RESIDENT: ColouredAuthor = { userId: 'resident', name: 'Dr Resident', colour: 'red' };
const ATTENDING: ColouredAuthor = { userId: 'attending', name: 'Dr Attending', colour: 'blue' };

const editors: Editor[] = [];
afterEach(() => {
  for (const e of editors.splice(0)) e.destroy();
});

/** Edits `doc` as client `clientId` (what another user's editor would send). */
function as(doc: Y.Doc, clientId: number, edit: (fragment: Y.XmlFragment) => void): void {
  const own = doc.clientID;
  doc.clientID = clientId;
  doc.transact(() => edit(doc.getXmlFragment('default')));
  doc.clientID = own;
}

const findingsText = (f: Y.XmlFragment) => (f.get(1) as Y.XmlElement).get(0) as Y.XmlText;

function report() {
  const doc = new Y.Doc();
  Y.applyUpdate(
    doc,
    seedReportUpdate([
      { title: 'Findings', defaultText: '' },
      { title: 'Impression', defaultText: '', fields: [{ id: 'birads', label: 'BI-RADS', kind: 'choice', choices: ['1', '2'] }] },
    ]),
  );
  const [template] = doc.store.clients.keys();
  as(doc, 10, (f) => {
    const t = new Y.XmlText();
    t.insert(0, 'Small effusion.');
    (f.get(1) as Y.XmlElement).insert(0, [t]);
  });
  as(doc, 20, (f) => {
    findingsText(f).insert('Small effusion'.length, ' on the right');
    findingsText(f).delete(0, 'Small '.length);
    ((f.get(3) as Y.XmlElement).get(1) as Y.XmlElement).setAttribute('value', '2');
  });
  return { doc, template: template! };
}

function open(doc: Y.Doc, onUnknownClient = () => {}): Editor {
  const editor = new Editor({
    element: document.createElement('div'),
    extensions: [
      StarterKit.configure({ undoRedo: false }),
      FieldNode,
      SectionCode,
      Collaboration.configure({ document: doc }),
      AuthorColours.configure({ onUnknownClient }),
    ],
  });
  editors.push(editor);
  return editor;
}

/** What is decorated: [text, author] in document order. */
function coloured(editor: Editor): [string, string][] {
  const set = authorColoursKey.getState(editor.state)!.decorations;
  return set
    .find()
    .sort((a, b) => a.from - b.from)
    .map((d) => {
      const slice = editor.state.doc.slice(d.from, d.to).content;
      const text = editor.state.doc.textBetween(d.from, d.to) || slice.firstChild?.attrs.value;
      return [text, (d as unknown as { type: { attrs: Record<string, string> } }).type.attrs['data-author']!];
    });
}

describe('colour by author', () => {
  it("decorates exactly each author's characters and a field's value; the template's text stays plain", async () => {
    const { doc, template } = report();
    const editor = open(doc);
    const authors = new Map([
      [template, { userId: 'template', name: 'Template', colour: null }],
      [10, RESIDENT],
      [20, ATTENDING],
    ]);
    setAuthorColours(editor.view, true, authors);
    await eventually(() =>
      expect(coloured(editor)).toEqual([
        ['effusion', 'resident'],
        [' on the right', 'attending'],
        ['.', 'resident'],
        ['2', 'attending'],
      ]),
    );
    const mark = authorColoursKey.getState(editor.state)!.decorations.find()[0] as unknown as { type: { attrs: Record<string, string> } };
    expect(mark.type.attrs).toMatchObject({ class: 'author-mark', style: '--author-colour: red', title: 'Dr Resident' });
  });

  it('follows later edits from another client, asks for the authors once for an unknown client id, and switching off removes every colour', async () => {
    const { doc, template } = report();
    const unknown = vi.fn();
    const editor = open(doc, unknown);
    setAuthorColours(
      editor.view,
      true,
      new Map([
        [template, { userId: 'template', name: 'Template', colour: null }],
        [10, RESIDENT],
        [20, ATTENDING],
      ]),
    );
    await eventually(() => expect(coloured(editor)).toHaveLength(4));
    // Someone the editor does not know yet types at the end of the Findings.
    as(doc, 30, (f) => findingsText(f).insert(findingsText(f).length, ' Stable.'));
    await eventually(() => expect(unknown).toHaveBeenCalledTimes(1));
    expect(coloured(editor).map(([text]) => text)).not.toContain(' Stable.');
    // More of the same unknown author (and a word of the resident's, which shows the recompute ran):
    // not asked again until the authors change.
    as(doc, 30, (f) => findingsText(f).insert(findingsText(f).length, ' No change'));
    as(doc, 10, (f) => findingsText(f).insert(findingsText(f).length, '!'));
    await eventually(() => expect(coloured(editor)).toContainEqual(['!', 'resident']));
    expect(unknown).toHaveBeenCalledTimes(1);
    setAuthorColours(
      editor.view,
      true,
      new Map([
        [30, { userId: 'third', name: 'Dr Third', colour: 'green' }],
        [10, RESIDENT],
        [20, ATTENDING],
      ]),
    );
    await eventually(() => expect(coloured(editor)).toContainEqual([' Stable. No change', 'third']));

    setAuthorColours(editor.view, false);
    expect(authorColoursKey.getState(editor.state)!.decorations.find()).toEqual([]);
  });
});
