/**
 * The one report-document model: what the API signs and prints and what the web's late-edits panel
 * compares are read by the same functions, so they split and word a report the same way.
 */
import { describe, expect, it, vi } from 'vitest';
import * as Y from 'yjs';
import { fromBase64, holdsUnseen, plainText, reportSections, seedReportUpdate, toBase64 } from '../src/report-document';

function docFrom(update: Uint8Array): Y.Doc {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, update);
  return doc;
}

function block(name: string, text: string, attributes: Record<string, unknown> = {}): Y.XmlElement {
  const element = new Y.XmlElement(name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value as string);
  const leaf = new Y.XmlText();
  leaf.insert(0, text);
  element.insert(0, [leaf]);
  return element;
}

describe('seeding and reading sections', () => {
  it('reads back the sections it seeds, standard titles keyed as the standard sections', () => {
    const doc = docFrom(seedReportUpdate([{ title: 'Findings', defaultText: 'Normal.\nNo effusion.' }, { title: 'Impression' }]));
    expect(reportSections(doc)).toEqual([
      { key: 'findings', title: 'Findings', text: 'Normal.\nNo effusion.' },
      { key: 'impression', title: 'Impression', text: '' },
    ]);
    expect(plainText(reportSections(doc))).toBe('Findings\nNormal.\nNo effusion.\n\nImpression\n');
  });

  it('starts a section at a level-1 heading as at level 2, never at level 3, and keeps a preamble', () => {
    const doc = new Y.Doc();
    const list = new Y.XmlElement('bulletList');
    const item = new Y.XmlElement('listItem');
    item.insert(0, [block('paragraph', 'Right lower lobe nodule')]);
    list.insert(0, [item]);
    doc
      .getXmlFragment('default')
      .insert(0, [
        block('paragraph', 'Addendum to the request.'),
        block('heading', 'Findings', { level: 1 }),
        list,
        block('heading', 'Lungs', { level: 3 }),
        block('paragraph', 'Clear.'),
        block('heading', 'Impression', { level: 2 }),
        block('paragraph', 'Nodule, follow up.'),
      ]);
    expect(reportSections(doc)).toEqual([
      { key: 'preamble', title: '', text: 'Addendum to the request.' },
      { key: 'findings', title: 'Findings', text: '- Right lower lobe nodule\nLungs\nClear.' },
      { key: 'impression', title: 'Impression', text: 'Nodule, follow up.' },
    ]);
  });
});

describe('holdsUnseen (sign what you saw)', () => {
  const seeded = () => docFrom(seedReportUpdate([{ title: 'Findings', defaultText: 'Normal.' }]));

  it('is false for exactly what was seen, true after an insertion the reader did not see', () => {
    const doc = seeded();
    const seen = Y.decodeStateVector(Y.encodeStateVector(doc));
    expect(holdsUnseen(doc, seen)).toBe(false);
    doc.getXmlFragment('default').insert(0, [block('paragraph', 'late')]);
    expect(holdsUnseen(doc, seen)).toBe(true);
  });

  it('catches a deletion the reader did not see only when given the reader’s snapshot', () => {
    const doc = seeded();
    const seen = Y.decodeStateVector(Y.encodeStateVector(doc));
    const snapshot = Y.snapshot(doc);
    doc.getXmlFragment('default').delete(0, 1); // deletes, adds no clock
    expect(holdsUnseen(doc, seen)).toBe(false);
    expect(holdsUnseen(doc, seen, snapshot)).toBe(true);
  });
});

describe('base64', () => {
  const bytes = new Uint8Array(70_000).map((_, i) => (i * 7919) % 256); // more than two 32 KiB chunks

  it('writes standard base64 with padding and round-trips every byte value in a large update', () => {
    expect(toBase64(Uint8Array.of(0, 1, 2, 253, 254, 255))).toBe('AAEC/f7/');
    expect(toBase64(Uint8Array.of(255))).toBe('/w==');
    expect(fromBase64(toBase64(bytes)).every((byte, i) => byte === bytes[i])).toBe(true);
    expect(toBase64(new Uint8Array())).toBe('');
  });

  it('writes the same without Node’s Buffer, as in the browser', () => {
    const inNode = toBase64(bytes);
    vi.stubGlobal('Buffer', undefined);
    try {
      expect(toBase64(bytes)).toBe(inNode);
      expect(toBase64(Uint8Array.of(255))).toBe('/w==');
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('refuses text that is not base64', () => {
    expect(() => fromBase64('not base64!')).toThrow();
  });
});
