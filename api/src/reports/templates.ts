/**
 * Which template a new report starts from: the one the user picked, else the shared rule
 * (`chooseTemplate` in @pacs/shared, which the device uses offline too), else the fallback sections.
 */
import {
  chooseTemplate,
  FALLBACK_SECTIONS,
  type TemplateCandidate,
  type TemplateChoiceStudy,
  type TemplateSection,
  templateFitsStudy,
} from '@pacs/shared';
import { templateFieldProblems } from '@pacs/shared/report-document';
import type { Models, StudyAttributes, TemplateAttributes } from '../db/models';
import { badRequest } from '../http-errors';
import { decodeModalities } from '../worklist/present';

export { withClinicalHistory } from '@pacs/shared';

export interface ChosenSections {
  /** null: no template matched, the fallback sections were used. */
  templateId: string | null;
  sections: TemplateSection[];
}

type TemplateModels = Pick<Models, 'Template' | 'Order'>;
type StudyForChoice = Pick<StudyAttributes, 'modalities' | 'bodyPart' | 'orderRef'>;

const list = (stored: string | null) => (stored ?? '').split(',').filter(Boolean);

function candidate(row: TemplateAttributes): TemplateCandidate & { sections: string } {
  return {
    id: row.id,
    modalities: list(row.modalities),
    bodyPart: row.bodyPart,
    procedureCodes: list(row.procedureCodes),
    retired: row.retiredAt !== null,
    createdAt: row.createdAt,
    sections: row.sections,
  };
}

async function choiceStudy(models: TemplateModels, study: StudyForChoice): Promise<TemplateChoiceStudy> {
  const procedureCode = study.orderRef ? ((await models.Order.findByPk(study.orderRef, { raw: true }))?.procedureCode ?? '') : '';
  return { modalities: decodeModalities(study.modalities), bodyPart: study.bodyPart, procedureCode };
}

const chosen = (row: { id: string; sections: string }): ChosenSections => ({
  templateId: row.id,
  sections: JSON.parse(row.sections) as TemplateSection[],
});

export async function chooseSections(
  models: TemplateModels,
  study: StudyForChoice,
  templateId: string | undefined,
): Promise<ChosenSections> {
  if (templateId) {
    const t = await models.Template.findByPk(templateId, { raw: true });
    if (!t || t.retiredAt !== null) throw badRequest('template not found or retired', 'BAD_TEMPLATE');
    return chosen(t);
  }
  const active = (await models.Template.findAll({ where: { retiredAt: null }, raw: true })).map(candidate);
  const best = chooseTemplate(active, await choiceStudy(models, study));
  return best ? chosen(best) : { templateId: null, sections: [...FALLBACK_SECTIONS] };
}

/**
 * The sections of a report a device started offline: from the template it chose (which must
 * still be active and made for the study), or the fallback sections when it chose none.
 */
export async function sectionsForOfflineStart(
  models: TemplateModels,
  study: StudyForChoice,
  templateId: string | null,
): Promise<ChosenSections> {
  if (templateId === null) return { templateId: null, sections: [...FALLBACK_SECTIONS] };
  const t = await models.Template.findByPk(templateId, { raw: true });
  if (!t || !templateFitsStudy(candidate(t), await choiceStudy(models, study))) {
    throw badRequest('template not found, retired or not made for this study', 'BAD_TEMPLATE');
  }
  return chosen(t);
}

/** Refuses (400) template sections whose fields contradict each other, before anything is stored. */
export function checkTemplateSections(sections: readonly TemplateSection[]): void {
  const problems = templateFieldProblems(sections);
  if (problems.length > 0) throw badRequest(`template fields: ${problems.join('; ')}`, 'VALIDATION_FAILED');
}
