/**
 * Which template a new report starts from, decided the same way by the API (a report started
 * online) and by the device (a report started offline from its cached template list): the oldest
 * active template naming the procedure code of the study's order, else the oldest active template
 * for one of the study's modalities whose body part matches, else the oldest made for any body
 * part, else none (the fallback sections). Retired templates are never chosen.
 */
import type { TemplateSection } from './schemas/reports';

/** What the choice reads of a template (the API's rows and the web's cached list both map to it). */
export interface TemplateCandidate {
  id: string;
  modalities: readonly string[];
  bodyPart: string;
  procedureCodes: readonly string[];
  retired: boolean;
  /** ISO date-time or Date: "oldest" is by this. */
  createdAt: string | Date;
}

/** What the choice reads of a study; the procedure code is '' when unknown (no order, or not on the device). */
export interface TemplateChoiceStudy {
  modalities: readonly string[];
  bodyPart: string;
  procedureCode: string;
}

/** Used when no template fits the study. */
export const FALLBACK_SECTIONS: readonly TemplateSection[] = [
  { key: 'clinical-history', title: 'Clinical history' },
  { key: 'technique', title: 'Technique' },
  { key: 'comparison', title: 'Comparison' },
  { key: 'findings', title: 'Findings' },
  { key: 'impression', title: 'Impression' },
];

const time = (t: string | Date) => (t instanceof Date ? t.getTime() : Date.parse(t));

/** The template the rule picks for the study, or null for the fallback sections. */
export function chooseTemplate<T extends TemplateCandidate>(templates: readonly T[], study: TemplateChoiceStudy): T | null {
  // Ties (templates seeded together) go by id, so the API and the device break them alike.
  const active = templates
    .filter((t) => !t.retired)
    .sort((a, b) => time(a.createdAt) - time(b.createdAt) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const procedureCode = study.procedureCode.trim();
  const byProcedure = procedureCode ? active.find((t) => t.procedureCodes.includes(procedureCode)) : undefined;
  if (byProcedure) return byProcedure;
  const candidates = active.filter((t) => t.modalities.some((m) => study.modalities.includes(m)));
  const bodyPart = study.bodyPart.trim().toUpperCase();
  return (
    candidates.find((t) => bodyPart !== '' && t.bodyPart.trim().toUpperCase() === bodyPart) ??
    candidates.find((t) => t.bodyPart === '') ??
    null
  );
}

/**
 * Whether a report on the study may start from this template when it was picked elsewhere (a
 * device offline): active, and made for the study's procedure or one of its modalities.
 */
export function templateFitsStudy(template: TemplateCandidate, study: TemplateChoiceStudy): boolean {
  if (template.retired) return false;
  const procedureCode = study.procedureCode.trim();
  if (procedureCode && template.procedureCodes.includes(procedureCode)) return true;
  return template.modalities.some((m) => study.modalities.includes(m));
}

/**
 * The order's reason for the exam and clinical history, filled into the template's
 * "Clinical history" section (key `clinical-history`) unless the template gives it a text of its own.
 */
export function withClinicalHistory(sections: readonly TemplateSection[], history: string): TemplateSection[] {
  if (history.trim() === '') return [...sections];
  return sections.map((section) =>
    section.key === 'clinical-history' && !section.defaultText ? { ...section, defaultText: history.trim() } : section,
  );
}
