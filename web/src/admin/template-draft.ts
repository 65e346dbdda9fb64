/**
 * The template form's draft: what the admin types (codes and phrases as text), to and from the
 * API's template, and the API's validation messages placed next to the field they name.
 */
import { type ConceptCode, REPORT_SECTIONS, type TemplateField } from '@pacs/shared';
import { ApiError } from '../api/client';
import type { Template, TemplateCreate, TemplateSection } from '../api/types';
import { errorText } from './errors';
import { formatFields, parseFields } from './template-fields';

export interface SectionDraft {
  key: string;
  title: string;
  defaultText: string;
  placeholder: string;
  /** One phrase per line. */
  picklist: string;
  /** Fill-in fields as typed lines (template-fields.ts). */
  fields: string;
  /** The stored fields and the section's code, kept through the form. */
  storedFields: TemplateField[];
  code?: ConceptCode;
}

export interface Draft {
  name: string;
  /** As typed: codes separated by commas or spaces. */
  modalities: string;
  bodyPart: string;
  /** Procedure codes an order may name, separated by commas or spaces. */
  procedureCodes: string;
  sections: SectionDraft[];
}

/** Field path (as the API names it, e.g. `sections/2/title`) → message. `''` = the form as a whole. */
export type FieldErrors = Record<string, string>;

export const emptySection = (key: string, title: string): SectionDraft => ({
  key,
  title,
  defaultText: '',
  placeholder: '',
  picklist: '',
  fields: '',
  storedFields: [],
});

export const NEW_TEMPLATE: Draft = {
  name: '',
  modalities: '',
  bodyPart: '',
  procedureCodes: '',
  sections: REPORT_SECTIONS.map((s) => emptySection(s.key, s.title)),
};

export function draftOf(template: Template): Draft {
  return {
    name: template.name,
    modalities: template.modalities.join(', '),
    bodyPart: template.bodyPart,
    procedureCodes: template.procedureCodes.join(', '),
    sections: template.sections.map((s) => ({
      key: s.key,
      title: s.title,
      defaultText: s.defaultText ?? '',
      placeholder: s.placeholder ?? '',
      picklist: (s.picklist ?? []).join('\n'),
      fields: formatFields(s.fields ?? []),
      storedFields: s.fields ?? [],
      ...(s.code ? { code: s.code } : {}),
    })),
  };
}

/** The request body: empty optional parts are left out, modality codes upper-cased and split. */
export function bodyOf(draft: Draft): Omit<TemplateCreate, 'bodyPart'> & { bodyPart: string } {
  const fieldIds = new Set<string>();
  const procedureCodes = draft.procedureCodes
    .split(/[\s,;]+/)
    .map((c) => c.trim())
    .filter(Boolean);
  return {
    name: draft.name.trim(),
    modalities: draft.modalities
      .split(/[\s,;/]+/)
      .map((m) => m.trim().toUpperCase())
      .filter(Boolean),
    bodyPart: draft.bodyPart.trim(),
    sections: draft.sections.map((s) => {
      const section: TemplateSection = { key: s.key, title: s.title.trim() };
      if (s.defaultText.trim()) section.defaultText = s.defaultText;
      if (s.placeholder.trim()) section.placeholder = s.placeholder.trim();
      const picks = s.picklist
        .split('\n')
        .map((p) => p.trim())
        .filter(Boolean);
      if (picks.length) section.picklist = picks;
      const fields = parseFields(s.fields, s.storedFields, fieldIds);
      if (fields.length) section.fields = fields;
      if (s.code) section.code = s.code;
      return section;
    }),
    ...(procedureCodes.length ? { procedureCodes } : {}),
  };
}

/** A section key from its title (`^[a-z][a-z0-9-]{0,39}$`), unique among `taken`. */
export function keyFor(title: string, taken: readonly string[]): string {
  let base = title
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '') // accents off: é → e
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (!/^[a-z]/.test(base)) base = `section-${base}`.replace(/-+$/, '');
  base = base.slice(0, 36).replace(/-+$/, '');
  let key = base;
  for (let n = 2; taken.includes(key); n++) key = `${base}-${n}`;
  return key;
}

/** Turns the API's validation message into a field error: `body/sections/0/title must …`. */
export function fieldErrorsOf(error: unknown): FieldErrors {
  if (error instanceof ApiError && error.status === 400) {
    const match = /^body\/(\S+) (.*)$/.exec(error.message);
    if (match) return { [match[1]!]: `${match[2]!}` };
    const missing = /^body must have required property '(\w+)'$/.exec(error.message);
    if (missing) return { [missing[1]!]: 'is required' };
  }
  if (error instanceof ApiError && error.code === 'STALE_VERSION') {
    return { '': 'Someone else changed this template since you opened it. Close and open it again to see their version.' };
  }
  return { '': errorText(error) };
}
