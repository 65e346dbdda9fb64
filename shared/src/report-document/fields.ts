/**
 * Fill-in fields of a report: an inline atom node `field` in the document (a Y.XmlElement inside a
 * paragraph, its state in attributes), seeded from a template's fields. The one rule for "which
 * required fields are empty", used by the API to refuse submit and finalize and by the editor to
 * mark them, and the one way a field reads as text (its value, never a placeholder).
 */
import * as Y from 'yjs';
import type { ConceptCode, TemplateField, TemplateSection } from '../schemas/reports';
import type { PMNode } from './document';

export const FIELD_NODE = 'field';

/** The attributes of a `field` node, as stored in the Yjs document and the signed ProseMirror JSON. */
export interface FieldAttrs {
  fieldId: string;
  label: string;
  kind: 'text' | 'choice';
  /** Pick-list choices; empty for free text. */
  choices: string[];
  required: boolean;
  value: string;
  code: ConceptCode | null;
}

/** The field's attributes from a template field, its default as the value. */
export function fieldAttrs(field: TemplateField): FieldAttrs {
  return {
    fieldId: field.id,
    label: field.label,
    kind: field.kind,
    choices: field.kind === 'choice' ? [...(field.choices ?? [])] : [],
    required: field.required === true,
    value: field.default ?? '',
    code: field.code ?? null,
  };
}

/** Attributes read leniently from a node (a document may come from any client). */
export function readFieldAttrs(attrs: Record<string, unknown> | undefined): FieldAttrs {
  const a = attrs ?? {};
  const code = a.code as Partial<ConceptCode> | null | undefined;
  return {
    fieldId: typeof a.fieldId === 'string' ? a.fieldId : '',
    label: typeof a.label === 'string' ? a.label : '',
    kind: a.kind === 'choice' ? 'choice' : 'text',
    choices: Array.isArray(a.choices) ? a.choices.filter((c): c is string => typeof c === 'string') : [],
    required: a.required === true,
    value: typeof a.value === 'string' ? a.value : '',
    code:
      code && typeof code === 'object' && typeof code.scheme === 'string' && typeof code.value === 'string'
        ? { scheme: code.scheme, value: code.value, meaning: String(code.meaning ?? '') }
        : null,
  };
}

/** What a field reads as in plain text, the PDF and the ORU: its value, nothing when empty. */
export const fieldText = (node: PMNode): string => readFieldAttrs(node.attrs).value;

/** Whether a value fills the field: not blank, and for a pick list one of its choices. */
export function isFilled(field: Pick<FieldAttrs, 'kind' | 'choices' | 'value'>): boolean {
  const value = field.value.trim();
  if (value === '') return false;
  return field.kind !== 'choice' || field.choices.includes(field.value);
}

/** Every field of a document in ProseMirror JSON, in document order. */
export function fieldsOf(pm: PMNode): FieldAttrs[] {
  const out: FieldAttrs[] = [];
  const walk = (node: PMNode) => {
    if (node.type === FIELD_NODE) out.push(readFieldAttrs(node.attrs));
    for (const child of node.content ?? []) walk(child);
  };
  walk(pm);
  return out;
}

export interface EmptyField {
  id: string;
  label: string;
}

/**
 * The required fields that are not filled, in document order: signing is refused while any is.
 * `expected`: the required fields the report began with; one no longer in the document (deleted)
 * counts as empty too, after the others.
 */
export function emptyRequiredFields(pm: PMNode, expected: readonly EmptyField[] = []): EmptyField[] {
  const fields = fieldsOf(pm);
  const present = new Set(fields.map((f) => f.fieldId));
  return [
    ...fields.filter((f) => f.required && !isFilled(f)).map((f) => ({ id: f.fieldId, label: f.label })),
    ...expected.filter((f) => !present.has(f.id)),
  ];
}

/** The required fields a template seeds, as a report remembers them. */
export function requiredTemplateFields(sections: readonly Pick<TemplateSection, 'fields'>[]): EmptyField[] {
  return sections
    .flatMap((s) => s.fields ?? [])
    .filter((f) => f.required === true)
    .map((f) => ({ id: f.id, label: f.label }));
}

/** The sentence a refusal shows: which fields to fill. */
export const emptyFieldsMessage = (fields: readonly EmptyField[]) =>
  `fill in the required field${fields.length === 1 ? '' : 's'} before signing: ${fields.map((f) => f.label).join(', ')}`;

/**
 * What is wrong with a template's fields, beyond the schema: ids unique across the template, a pick
 * list has choices and its default is one of them, free text has none. Empty: nothing.
 */
export function templateFieldProblems(sections: readonly Pick<TemplateSection, 'fields'>[]): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const field of sections.flatMap((s) => s.fields ?? [])) {
    if (seen.has(field.id)) problems.push(`field id "${field.id}" is used twice`);
    seen.add(field.id);
    if (field.kind === 'choice' && (field.choices ?? []).length === 0) problems.push(`pick list "${field.id}" has no choices`);
    if (field.kind === 'text' && field.choices !== undefined) problems.push(`free-text field "${field.id}" has choices`);
    if (field.kind === 'choice' && field.default !== undefined && !(field.choices ?? []).includes(field.default))
      problems.push(`default of "${field.id}" is not one of its choices`);
  }
  return problems;
}

/** A seeded paragraph "Label: [field]" (y-prosemirror keeps inline atoms as elements among the text). */
export function fieldParagraph(field: TemplateField): Y.XmlElement {
  const p = new Y.XmlElement('paragraph');
  const label = new Y.XmlText();
  label.insert(0, `${field.label}: `);
  const node = new Y.XmlElement(FIELD_NODE);
  for (const [key, value] of Object.entries(fieldAttrs(field))) node.setAttribute(key, value as unknown as string);
  p.insert(0, [label, node]);
  return p;
}

/** A coded concept of the signed content: a section's (value null) or a filled field's, with its text. */
export interface CodedConcept {
  code: ConceptCode;
  /** The section title, or the field label. */
  text: string;
  /** The field's value; null for a section. */
  value: string | null;
}

function readCode(value: unknown): ConceptCode | null {
  return readFieldAttrs({ code: value }).code;
}

const plainTextOf = (node: PMNode): string => (node.type === 'text' ? (node.text ?? '') : (node.content ?? []).map(plainTextOf).join(''));

/** The coded concepts of a document in order: coded section headings, and coded fields that are filled. */
export function codedConcepts(pm: PMNode): CodedConcept[] {
  const out: CodedConcept[] = [];
  const walk = (node: PMNode) => {
    if (node.type === 'heading') {
      const code = readCode(node.attrs?.sectionCode);
      if (code) out.push({ code, text: plainTextOf(node).trim(), value: null });
    }
    if (node.type === FIELD_NODE) {
      const field = readFieldAttrs(node.attrs);
      if (field.code && isFilled(field)) out.push({ code: field.code, text: field.label, value: field.value });
    }
    for (const child of node.content ?? []) walk(child);
  };
  walk(pm);
  return out;
}
