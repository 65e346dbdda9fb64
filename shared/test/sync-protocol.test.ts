import { describe, expect, it } from 'vitest';
import { CLOSE_CODES, parseReportDocumentName, reportDocumentName } from '../src/sync-protocol';

describe('sync protocol vocabulary', () => {
  it('names report documents report:<uuid> and parses them back', () => {
    const id = '0b6a1c52-5d1e-4f3a-9c2b-7f1e2d3c4b5a';
    expect(reportDocumentName(id)).toBe(`report:${id}`);
    expect(parseReportDocumentName(reportDocumentName(id))).toBe(id);
  });

  it('rejects names that are not report documents', () => {
    for (const name of ['report:', 'report:123', 'other:0b6a1c52-5d1e-4f3a-9c2b-7f1e2d3c4b5a', 'report:../etc', '']) {
      expect(parseReportDocumentName(name), name).toBeNull();
    }
  });

  it('uses distinct close codes in the application range', () => {
    const codes = Object.values(CLOSE_CODES);
    expect(new Set(codes).size).toBe(codes.length);
    for (const code of codes) {
      expect(code).toBeGreaterThanOrEqual(4000);
      expect(code).toBeLessThan(5000);
    }
  });
});
