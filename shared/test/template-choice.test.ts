/** The one template rule the API and the device share: procedure code, then modality and body part, then any body part; retired never. */
import { describe, expect, it } from 'vitest';
import { chooseTemplate, type TemplateCandidate, templateFitsStudy, withClinicalHistory } from '../src/template-choice';

const t = (id: string, over: Partial<TemplateCandidate> = {}): TemplateCandidate => ({
  id,
  modalities: ['CT'],
  bodyPart: '',
  procedureCodes: [],
  retired: false,
  createdAt: '2026-01-01T00:00:00.000Z',
  ...over,
});

const study = (over: Partial<{ modalities: string[]; bodyPart: string; procedureCode: string }> = {}) => ({
  modalities: ['CT'],
  bodyPart: 'CHEST',
  procedureCode: '',
  ...over,
});

describe('chooseTemplate', () => {
  it.each([
    [
      'the procedure code wins over body part',
      [t('a', { bodyPart: 'CHEST' }), t('b', { modalities: ['MR'], procedureCodes: ['P1'] })],
      study({ procedureCode: 'P1' }),
      'b',
    ],
    [
      'the body part match wins over any body part',
      [t('any'), t('chest', { bodyPart: 'chest', createdAt: '2026-02-01T00:00:00Z' })],
      study(),
      'chest',
    ],
    ['any body part when none matches', [t('head', { bodyPart: 'HEAD' }), t('any')], study(), 'any'],
    [
      'the oldest of equals',
      [t('new', { createdAt: '2026-03-01T00:00:00Z' }), t('old', { createdAt: new Date('2026-01-05T00:00:00Z') })],
      study(),
      'old',
    ],
    ['ties go by id (same order on both sides)', [t('b'), t('a')], study(), 'a'],
    ['retired templates never', [t('gone', { retired: true, bodyPart: 'CHEST' }), t('any')], study(), 'any'],
    ['another modality: none', [t('mr', { modalities: ['MR'] })], study(), null],
    [
      'an unknown procedure code falls back to modality',
      [t('ct'), t('p', { procedureCodes: ['P9'], modalities: ['MR'] })],
      study({ procedureCode: 'P1' }),
      'ct',
    ],
  ] as const)('%s', (_name, templates, forStudy, expected) => {
    expect(chooseTemplate(templates, forStudy)?.id ?? null).toBe(expected);
  });

  it('fits: active, and made for the procedure or a modality of the study', () => {
    expect(templateFitsStudy(t('ct'), study())).toBe(true);
    expect(templateFitsStudy(t('mr', { modalities: ['MR'] }), study())).toBe(false);
    expect(templateFitsStudy(t('mr', { modalities: ['MR'], procedureCodes: ['P1'] }), study({ procedureCode: 'P1' }))).toBe(true);
    expect(templateFitsStudy(t('ct', { retired: true }), study())).toBe(false);
  });

  it('fills the clinical history unless the template has a text of its own', () => {
    const sections = [
      { key: 'clinical-history', title: 'Clinical history' },
      { key: 'findings', title: 'Findings' },
    ];
    expect(withClinicalHistory(sections, '  Cough  ')[0]).toMatchObject({ defaultText: 'Cough' });
    expect(withClinicalHistory([{ ...sections[0]!, defaultText: 'Own' }], 'Cough')[0]).toMatchObject({ defaultText: 'Own' });
    expect(withClinicalHistory(sections, ' ')).toEqual(sections);
  });
});
