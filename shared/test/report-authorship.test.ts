/**
 * Who wrote what, read from a report's Yjs document: every character of the current text goes to
 * the owner of the client id that inserted it, a field's value to whoever set it, text delivered
 * under someone else's client id is marked as relayed, deletions are counted per deleting user and
 * author of the deleted text.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { encodeDeleteSet, reportAuthorship, seedReportUpdate } from '../src/report-document';
import { TEMPLATE_AUTHOR_ID } from '../src/sync-protocol';

const RESIDENT = { userId: 'resident-1', userName: 'Dr Resident' };
const ATTENDING = { userId: 'attending-1', userName: 'Dr Attending' };

/** A seeded report (template client 1) edited by the resident (client 10) and the attending (client 20). */
function draft() {
  const doc = new Y.Doc();
  Y.applyUpdate(
    doc,
    seedReportUpdate([
      { title: 'Findings', defaultText: '' },
      { title: 'Impression', defaultText: '', fields: [{ id: 'birads', label: 'BI-RADS', kind: 'choice', choices: ['1', '2'] }] },
    ]),
  );
  const [templateClient] = doc.store.clients.keys();
  const as = (clientId: number, edit: (fragment: Y.XmlFragment) => void): Y.Transaction => {
    const before = doc.clientID;
    doc.clientID = clientId;
    let tr!: Y.Transaction;
    doc.transact((t) => {
      tr = t;
      edit(doc.getXmlFragment('default'));
    });
    doc.clientID = before;
    return tr;
  };
  const findings = () => (doc.getXmlFragment('default').get(1) as Y.XmlElement).get(0) as Y.XmlText | undefined;
  as(10, (f) => {
    const p = f.get(1) as Y.XmlElement;
    const t = new Y.XmlText();
    t.insert(0, 'Small effusion.');
    p.insert(0, [t]);
  });
  // The attending inserts inside the resident's sentence and deletes "Small ".
  const deletion = as(20, () => {
    findings()!.insert('Small effusion'.length, ' on the right');
    findings()!.delete(0, 'Small '.length);
  });
  as(20, (f) => {
    const field = (f.get(3) as Y.XmlElement).get(1) as Y.XmlElement;
    field.setAttribute('value', '2');
  });
  return { doc, templateClient: templateClient!, deletion };
}

const bindings = (templateClient: number) => [
  { clientId: templateClient, userId: TEMPLATE_AUTHOR_ID, userName: 'ignored' },
  { clientId: 10, ...RESIDENT },
  { clientId: 20, ...ATTENDING },
  // A later binding of the same id never wins.
  { clientId: 10, ...ATTENDING },
];

describe('report authorship', () => {
  it('attributes every character, a field value to its setter, headings to the template', () => {
    const { doc, templateClient, deletion } = draft();
    const a = reportAuthorship('r', doc, bindings(templateClient), [
      { kind: 'deleted', ...ATTENDING, ranges: encodeDeleteSet(deletion.deleteSet) },
    ]);
    expect(a.sections.map((s) => [s.title, s.runs])).toEqual([
      [
        'Findings',
        [
          { text: 'effusion', userId: RESIDENT.userId },
          { text: ' on the right', userId: ATTENDING.userId },
          { text: '.', userId: RESIDENT.userId },
        ],
      ],
      [
        'Impression',
        [
          { text: 'BI-RADS: ', userId: TEMPLATE_AUTHOR_ID },
          { text: '2', userId: ATTENDING.userId },
        ],
      ],
    ]);
    const byId = Object.fromEntries(a.authors.map((x) => [x.userId, x]));
    expect(byId[TEMPLATE_AUTHOR_ID]).toMatchObject({ name: 'Template', clientIds: [templateClient] });
    expect(byId[RESIDENT.userId]).toMatchObject({ clientIds: [10], written: 'effusion.'.length, deleted: 0 });
    expect(byId[ATTENDING.userId]).toMatchObject({ clientIds: [20], written: ' on the right2'.length, deleted: 'Small '.length });
    expect(a.deletions).toEqual([{ byUserId: ATTENDING.userId, ofUserId: RESIDENT.userId, characters: 'Small '.length }]);
  });

  it("marks text delivered under another user's client id as relayed, character by character; a user's own resend is not marked", () => {
    const { doc, templateClient } = draft();
    // The resident's clock 0 is the text node itself, 1.. its characters: the attending's connection
    // delivered clocks 7..9 ("eff"), the resident relayed their own 10..14 ("usion").
    const relayed = (clock: number, len: number) => {
      const ds = Y.createDeleteSet();
      ds.clients.set(10, [{ clock, len } as never]);
      return encodeDeleteSet(ds);
    };
    const a = reportAuthorship('r', doc, bindings(templateClient), [
      { kind: 'relayed', ...ATTENDING, ranges: relayed(7, 3) },
      { kind: 'relayed', ...RESIDENT, ranges: relayed(10, 5) },
    ]);
    expect(a.sections[0]!.runs).toEqual([
      { text: 'eff', userId: RESIDENT.userId, relayedBy: ATTENDING.userId },
      { text: 'usion', userId: RESIDENT.userId },
      { text: ' on the right', userId: ATTENDING.userId },
      { text: '.', userId: RESIDENT.userId },
    ]);
  });

  it('leaves text of an unknown client id unattributed', () => {
    const { doc, templateClient } = draft();
    const a = reportAuthorship('r', doc, [{ clientId: templateClient, userId: TEMPLATE_AUTHOR_ID, userName: '' }], []);
    expect(a.sections[0]!.runs).toEqual([{ text: 'effusion on the right.', userId: null }]);
    expect(a.authors.map((x) => x.userId)).toEqual([TEMPLATE_AUTHOR_ID]);
  });
});
