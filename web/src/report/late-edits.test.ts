import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { addendumText, describeLateEdits } from './late-edits';
import { itemsAhead, sectionTexts, toBase64 } from './yjs-util';

function seeded(): Y.Doc {
  const doc = new Y.Doc();
  const fragment = doc.getXmlFragment('default');
  const block = (name: string, text: string, level?: number) => {
    const el = new Y.XmlElement(name);
    if (level) el.setAttribute('level', level as unknown as string);
    const t = new Y.XmlText();
    t.insert(0, text);
    el.insert(0, [t]);
    return el;
  };
  fragment.insert(0, [
    block('heading', 'Findings', 2),
    block('paragraph', 'Normal.'),
    block('heading', 'Impression', 2),
    block('paragraph', ''),
  ]);
  return doc;
}

describe('late edits', () => {
  it('reads sections and turns refused updates into readable additions', () => {
    const signed = seeded();
    expect(sectionTexts(signed)).toEqual([
      { title: 'Findings', text: 'Normal.' },
      { title: 'Impression', text: '' },
    ]);
    // A resident's offline copy of the signed document, edited after the lock.
    const offline = new Y.Doc();
    Y.applyUpdate(offline, Y.encodeStateAsUpdate(signed));
    const before = Y.encodeStateVector(offline);
    const fragment = offline.getXmlFragment('default');
    const p = new Y.XmlElement('paragraph');
    const t = new Y.XmlText();
    t.insert(0, 'Small effusion.');
    p.insert(0, [t]);
    fragment.insert(2, [p]);
    const update = Y.encodeStateAsUpdate(offline, before);
    expect(itemsAhead(Y.decodeStateVector(Y.encodeStateVector(offline)), Y.decodeStateVector(Y.encodeStateVector(signed)))).toBeGreaterThan(
      0,
    );

    const readable = describeLateEdits(signed, [
      { id: '1', userId: 'u', userName: 'Dr Resident', receivedAt: '2026-11-28T10:00:00.000Z', update: toBase64(update) },
    ]);
    expect(readable).toHaveLength(1);
    expect(readable[0]!.changes).toEqual([
      { title: 'Findings', before: 'Normal.', after: 'Normal.\nSmall effusion.', added: ['Small effusion.'] },
    ]);
    expect(addendumText(readable)).toBe('Findings: Small effusion.');
    // The signed document itself is untouched.
    expect(sectionTexts(signed)[0]!.text).toBe('Normal.');
  });
});
