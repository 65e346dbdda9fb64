/**
 * Restricted patients and emergency access ("break the glass"): the vocabulary the API, the web app
 * and the tests share — where a restriction came from, the limits of a reason, the default length
 * of an access window and the privacy officer's verdicts.
 */

/** Who restricted a study: an admin, the hospital's order (HL7 ORC-28 / PV1-16) or the images' DICOM confidentiality tags. */
export const RESTRICTION_SOURCES = ['admin', 'order', 'dicom'] as const;
export type RestrictionSource = (typeof RESTRICTION_SOURCES)[number];

/** What a user sees of a restricted row: everything (window open, or assigned) or the masked row. */
export const STUDY_ACCESS = ['open', 'masked'] as const;
export type StudyAccess = (typeof STUDY_ACCESS)[number];

export const REVIEW_STATUSES = ['pending', 'justified', 'not-justified'] as const;
export type ReviewStatus = (typeof REVIEW_STATUSES)[number];
export const REVIEW_VERDICTS = ['justified', 'not-justified'] as const;
export type ReviewVerdict = (typeof REVIEW_VERDICTS)[number];

export const BREAK_GLASS_REASON_MIN = 10;
export const BREAK_GLASS_REASON_MAX = 1000;
export const DEFAULT_BREAK_GLASS_MINUTES = 60;
export const REVIEW_NOTE_MAX = 2000;

/** Control characters other than line breaks and tabs (which a typed reason may hold). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to find them
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u2028\u2029]/;

export type ReasonCheck = { ok: true; reason: string } | { ok: false; message: string };

/** The reason as kept (trimmed), or why it is refused. The API and the dialog use this one rule. */
export function checkBreakGlassReason(value: unknown): ReasonCheck {
  if (typeof value !== 'string') return { ok: false, message: 'a reason is required' };
  if (CONTROL.test(value)) return { ok: false, message: 'the reason holds control characters' };
  const reason = value.trim();
  if (reason === '') return { ok: false, message: 'a reason is required' };
  if (reason.length < BREAK_GLASS_REASON_MIN) {
    return { ok: false, message: `the reason must be at least ${BREAK_GLASS_REASON_MIN} characters` };
  }
  if (reason.length > BREAK_GLASS_REASON_MAX) {
    return { ok: false, message: `the reason must be at most ${BREAK_GLASS_REASON_MAX} characters` };
  }
  return { ok: true, reason };
}
