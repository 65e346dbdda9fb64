import type { TemplateField } from '@pacs/shared';
import { describe, expect, it } from 'vitest';
import { formatFields, parseFields } from './template-fields';

describe('fill-in fields as typed lines', () => {
  it('reads free text, pick lists, required marks and defaults', () => {
    expect(parseFields('*Size (mm)\nLung-RADS: 1 | 2 | 3 = 2\n\n  Location = right upper lobe ', [])).toEqual([
      { id: 'size-mm', label: 'Size (mm)', kind: 'text', required: true },
      { id: 'lung-rads', label: 'Lung-RADS', kind: 'choice', choices: ['1', '2', '3'], default: '2' },
      { id: 'location', label: 'Location', kind: 'text', default: 'right upper lobe' },
    ]);
  });

  it('keeps stored ids and codes by label, and gives repeated labels their own ids', () => {
    const stored: TemplateField[] = [
      { id: 'nodule', label: 'Nodule', kind: 'text', code: { scheme: 'RADLEX', value: 'RID3875', meaning: 'nodule' } },
    ];
    const fields = parseFields('Nodule\nNodule\n9 lives', stored);
    expect(fields.map((f) => f.id)).toEqual(['nodule', 'nodule-2', 'field-9-lives']);
    expect(fields[0]!.code).toEqual(stored[0]!.code);
  });

  it('formats what it reads back to the same fields', () => {
    const fields = parseFields('*A: x | y = y\nB', []);
    expect(parseFields(formatFields(fields), fields)).toEqual(fields);
  });
});
