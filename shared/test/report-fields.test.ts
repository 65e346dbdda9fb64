import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { PMNode } from '../src/report-document';
import {
  emptyRequiredFields,
  FIELD_NODE,
  plainText,
  proseMirrorJson,
  reportSections,
  seedReportUpdate,
  templateFieldProblems,
} from '../src/report-document';

const field = (attrs: Record<string, unknown>): PMNode => ({ type: FIELD_NODE, attrs });
const docOf = (...fields: PMNode[]): PMNode => ({ type: 'doc', content: [{ type: 'paragraph', content: fields }] });

describe('fill-in fields', () => {
  it.each([
    ['a blank text field', { fieldId: 'a', label: 'A', kind: 'text', required: true, value: '  ' }, ['a']],
    ['a filled text field', { fieldId: 'a', label: 'A', kind: 'text', required: true, value: '6' }, []],
    ['an optional empty field', { fieldId: 'a', label: 'A', kind: 'text', required: false, value: '' }, []],
    [
      'a pick list value outside its choices',
      { fieldId: 'a', label: 'A', kind: 'choice', choices: ['1'], required: true, value: '2' },
      ['a'],
    ],
    ['a pick list choice', { fieldId: 'a', label: 'A', kind: 'choice', choices: ['1'], required: true, value: '1' }, []],
    ['a required flag that is not true', { fieldId: 'a', label: 'A', kind: 'text', required: 'yes', value: '' }, []],
    ['a value of the wrong type', { fieldId: 'a', label: 'A', kind: 'text', required: true, value: 5 }, ['a']],
  ])('%s', (_what, attrs, empty) => {
    expect(emptyRequiredFields(docOf(field(attrs))).map((f) => f.id)).toEqual(empty);
  });

  it('counts a required field the report began with and the document lost as empty, after the others', () => {
    const doc = docOf(field({ fieldId: 'b', label: 'B', kind: 'text', required: true, value: '' }));
    expect(
      emptyRequiredFields(doc, [
        { id: 'a', label: 'A' },
        { id: 'b', label: 'B' },
      ]),
    ).toEqual([
      { id: 'b', label: 'B' },
      { id: 'a', label: 'A' },
    ]);
  });

  it('seeds fields that read back as their values in the sections text', () => {
    const update = seedReportUpdate([
      {
        title: 'Nodule',
        fields: [
          { id: 'size', label: 'Size', kind: 'text', required: true },
          { id: 'rads', label: 'Lung-RADS', kind: 'choice', choices: ['2', '3'], default: '3' },
        ],
      },
    ]);
    const doc = new Y.Doc();
    Y.applyUpdate(doc, update);
    expect(emptyRequiredFields(proseMirrorJson(doc))).toEqual([{ id: 'size', label: 'Size' }]);
    expect(plainText(reportSections(doc))).toBe('Nodule\nSize: \nLung-RADS: 3');
  });

  it('finds contradictions a schema cannot', () => {
    expect(
      templateFieldProblems([
        { fields: [{ id: 'a', label: 'A', kind: 'choice', choices: ['x'], default: 'y' }] },
        { fields: [{ id: 'a', label: 'A', kind: 'text' }] },
      ]),
    ).toEqual(['default of "a" is not one of its choices', 'field id "a" is used twice']);
  });
});
