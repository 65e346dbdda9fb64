import { Value } from 'typebox/value';
import { describe, expect, it } from 'vitest';
import { ERROR_CODE_NAMES, ERROR_CODES, isErrorCode } from '../src/error-codes';
import { ErrorResponse } from '../src/schemas/common';

describe('error codes', () => {
  it('lists each code once', () => {
    const duplicates = ERROR_CODE_NAMES.filter((code, index) => ERROR_CODE_NAMES.indexOf(code) !== index);
    expect(duplicates).toEqual([]);
  });

  it('names each code in upper snake case and says when, starting with its HTTP status', () => {
    for (const { code, when } of ERROR_CODES) {
      expect(code).toMatch(/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/);
      expect(when, code).toMatch(/^[45]\d\d\b.*: \S/);
    }
  });

  it('lets an error body carry a listed code and nothing else', () => {
    const body = { statusCode: 409, error: 'Conflict', message: 'stale', code: 'STALE_VERSION' };
    expect(Value.Check(ErrorResponse, body)).toBe(true);
    expect(Value.Check(ErrorResponse, { ...body, code: 'STUDY_NOT_FOUND' })).toBe(false);
    expect(isErrorCode('STALE_VERSION')).toBe(true);
    expect(isErrorCode('STUDY_NOT_FOUND')).toBe(false);
    expect(isErrorCode(undefined)).toBe(false);
  });
});
