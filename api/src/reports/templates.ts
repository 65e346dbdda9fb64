/**
 * Which template a new report starts from: the one the user picked, else the oldest active
 * template naming the procedure code of the study's order, else the oldest active template for
 * one of the study's modalities whose body part matches, else the oldest made for any body part,
 * else the fallback sections below. Retired templates are never chosen.
 */
import type { TemplateSection } from '@pacs/shared';
import { templateFieldProblems } from '@pacs/shared/report-document';
import type { Models, StudyAttributes } from '../db/models';
import { badRequest } from '../http-errors';
import { decodeModalities } from '../worklist/present';

/** Used when no template fits the study. */
const FALLBACK_SECTIONS: readonly TemplateSection[] = [
  { key: 'clinical-history', title: 'Clinical history' },
  { key: 'technique', title: 'Technique' },
  { key: 'comparison', title: 'Comparison' },
  { key: 'findings', title: 'Findings' },
  { key: 'impression', title: 'Impression' },
];

export interface ChosenSections {
  /** null: no template matched, the fallback sections were used. */
  templateId: string | null;
  sections: TemplateSection[];
}

export async function chooseSections(
  models: Pick<Models, 'Template' | 'Order'>,
  study: Pick<StudyAttributes, 'modalities' | 'bodyPart' | 'orderRef'>,
  templateId: string | undefined,
): Promise<ChosenSections> {
  if (templateId) {
    const t = await models.Template.findByPk(templateId, { raw: true });
    if (!t || t.retiredAt !== null) throw badRequest('template not found or retired', 'BAD_TEMPLATE');
    return { templateId: t.id, sections: JSON.parse(t.sections) as TemplateSection[] };
  }
  const active = await models.Template.findAll({ where: { retiredAt: null }, order: [['createdAt', 'ASC']], raw: true });
  const procedureCode = study.orderRef ? ((await models.Order.findByPk(study.orderRef, { raw: true }))?.procedureCode ?? '').trim() : '';
  const byProcedure = procedureCode && active.find((t) => (t.procedureCodes ?? '').split(',').includes(procedureCode));
  if (byProcedure) return { templateId: byProcedure.id, sections: JSON.parse(byProcedure.sections) as TemplateSection[] };
  const modalities = decodeModalities(study.modalities);
  const candidates = active.filter((t) => t.modalities.split(',').some((m) => modalities.includes(m)));
  const bodyPart = study.bodyPart.trim().toUpperCase();
  const best =
    candidates.find((t) => bodyPart !== '' && t.bodyPart.trim().toUpperCase() === bodyPart) ?? candidates.find((t) => t.bodyPart === '');
  if (!best) return { templateId: null, sections: [...FALLBACK_SECTIONS] };
  return { templateId: best.id, sections: JSON.parse(best.sections) as TemplateSection[] };
}

/**
 * The order's reason for the exam and clinical history, filled into the template's
 * "Clinical history" section (key `clinical-history`) unless the template gives it a text of its own.
 */
export function withClinicalHistory(sections: TemplateSection[], history: string): TemplateSection[] {
  if (history.trim() === '') return sections;
  return sections.map((section) =>
    section.key === 'clinical-history' && !section.defaultText ? { ...section, defaultText: history.trim() } : section,
  );
}

/** Refuses (400) template sections whose fields contradict each other, before anything is stored. */
export function checkTemplateSections(sections: readonly TemplateSection[]): void {
  const problems = templateFieldProblems(sections);
  if (problems.length > 0) throw badRequest(`template fields: ${problems.join('; ')}`, 'VALIDATION_FAILED');
}
