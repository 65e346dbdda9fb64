import { describe, expect, it } from 'vitest';
import { makeStudy } from '../test/fake-server';
import { applyFilter, applyFilterOnce, DEFAULT_FILTER, modalitiesOf } from './filter';

const ME = '11111111-1111-4111-8111-111111111111';

describe('the worklist filter, remembered across visits', () => {
  const rows = [
    makeStudy({ priority: 'routine', modalities: ['MR'], receivedAt: '2026-12-01T10:00:00.000Z' }),
    makeStudy({ priority: 'stat', modalities: ['CT', 'SR'], receivedAt: '2026-12-01T11:00:00.000Z' }),
    makeStudy({ priority: 'routine', modalities: ['CT'], receivedAt: '2026-12-01T09:00:00.000Z' }),
  ];

  it('answers the very same array for the same rows and filter, and recomputes for another filter or other rows', () => {
    const first = applyFilterOnce(rows, DEFAULT_FILTER, ME);
    expect(first).toEqual(applyFilter(rows, DEFAULT_FILTER, ME));
    expect(first[0]!.priority).toBe('stat');
    expect(applyFilterOnce(rows, { ...DEFAULT_FILTER }, ME)).toBe(first);
    const ct = applyFilterOnce(rows, { ...DEFAULT_FILTER, modality: 'CT' }, ME);
    expect(ct.map((r) => r.id)).toEqual([rows[1]!.id, rows[2]!.id]);
    const changed = [...rows.slice(1)];
    expect(applyFilterOnce(changed, { ...DEFAULT_FILTER, modality: 'CT' }, ME)).not.toBe(ct);
    expect(applyFilterOnce(changed, DEFAULT_FILTER, 'someone-else')).toHaveLength(2);
  });

  it('lists the modalities present, sorted, once per rows array', () => {
    expect(modalitiesOf(rows)).toEqual(['CT', 'MR', 'SR']);
    expect(modalitiesOf(rows)).toBe(modalitiesOf(rows));
    expect(modalitiesOf(rows.slice(0, 1))).toEqual(['MR']);
  });
});
