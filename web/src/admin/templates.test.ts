import { describe, expect, it } from 'vitest';
import { ApiError } from '../api/client';
import { bodyOf, draftOf, fieldErrorsOf, keyFor, NEW_TEMPLATE } from './template-draft';

describe('template editor helpers', () => {
  it('starts a new template with the five standard sections', () => {
    expect(NEW_TEMPLATE.sections.map((s) => s.title)).toEqual(['Clinical history', 'Technique', 'Comparison', 'Findings', 'Impression']);
  });

  it('builds the request body: codes upper-cased and split, empty optional parts left out', () => {
    const draft = {
      ...NEW_TEMPLATE,
      name: '  MR knee ',
      modalities: 'mr, ct;  MG',
      bodyPart: ' KNEE ',
      procedureCodes: ' MRKNEE, MRK2 ',
      sections: [
        {
          key: 'findings',
          title: 'Findings',
          defaultText: 'Normal.',
          placeholder: ' ',
          picklist: 'Tear.\n\n  Intact. \n',
          fields: '*Meniscus: intact | torn\n',
          storedFields: [],
        },
      ],
    };
    expect(bodyOf(draft)).toEqual({
      name: 'MR knee',
      modalities: ['MR', 'CT', 'MG'],
      bodyPart: 'KNEE',
      procedureCodes: ['MRKNEE', 'MRK2'],
      sections: [
        {
          key: 'findings',
          title: 'Findings',
          defaultText: 'Normal.',
          picklist: ['Tear.', 'Intact.'],
          fields: [{ id: 'meniscus', label: 'Meniscus', kind: 'choice', choices: ['intact', 'torn'], required: true }],
        },
      ],
    });
  });

  it('round-trips a stored template through the form', () => {
    const template = {
      id: 'x',
      name: 'CT head',
      modalities: ['CT'],
      bodyPart: 'HEAD',
      sections: [{ key: 'impression', title: 'Impression', placeholder: 'Summary', picklist: ['No acute findings.'] }],
      procedureCodes: [],
      builtIn: false,
      retired: false,
      retiredAt: null,
      version: 3,
      createdAt: '',
      updatedAt: '',
    };
    expect(bodyOf(draftOf(template))).toEqual({
      name: 'CT head',
      modalities: ['CT'],
      bodyPart: 'HEAD',
      sections: template.sections,
    });
  });

  it('derives valid, unique section keys from titles', () => {
    expect(keyFor('Findings (left)', [])).toBe('findings-left');
    expect(keyFor('Findings', ['findings'])).toBe('findings-2');
    expect(keyFor('2nd look', [])).toBe('section-2nd-look');
    expect(keyFor('Ünïcode Tïtle', [])).toBe('unicode-title');
    for (const key of [keyFor('Ünïcode Tïtle', []), keyFor('x'.repeat(80), [])]) expect(key).toMatch(/^[a-z][a-z0-9-]{0,39}$/);
  });

  it('places the API’s validation message at the field it names', () => {
    const invalid = (message: string) => new ApiError(400, { statusCode: 400, error: 'Bad Request', message, code: 'VALIDATION_FAILED' });
    expect(fieldErrorsOf(invalid('body/modalities/0 must match pattern "^[A-Z]{2,4}$"'))).toEqual({
      'modalities/0': 'must match pattern "^[A-Z]{2,4}$"',
    });
    expect(fieldErrorsOf(invalid('body/sections/2/title must NOT have fewer than 1 characters'))).toEqual({
      'sections/2/title': 'must NOT have fewer than 1 characters',
    });
    expect(fieldErrorsOf(invalid("body must have required property 'name'"))).toEqual({ name: 'is required' });
    const stale = new ApiError(409, { statusCode: 409, error: 'Conflict', message: 'changed', code: 'STALE_VERSION' });
    expect(fieldErrorsOf(stale)['']).toContain('Someone else changed this template');
  });
});
