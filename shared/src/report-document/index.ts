/** The report document: its shape and seeding, the one sections reader, the "what you saw" check, base64. */

export {
  type ClientBinding,
  type DeleteSet,
  decodeDeleteSet,
  encodeDeleteSet,
  mergeEncodedDeleteSets,
  rangesPerUser,
  reportAuthorship,
  type UserRanges,
} from './authorship';
export { fromBase64, toBase64 } from './base64';
export { type DiffPart, diffReport, diffTokens, type ReportDiff, type SectionDiff, type SectionText, tokens } from './diff';
export { type PMMark, type PMNode, proseMirrorJson, seedReportUpdate } from './document';
export {
  type CodedConcept,
  codedConcepts,
  type EmptyField,
  emptyFieldsMessage,
  emptyRequiredFields,
  FIELD_NODE,
  type FieldAttrs,
  fieldAttrs,
  fieldsOf,
  fieldText,
  isFilled,
  readFieldAttrs,
  requiredTemplateFields,
  templateFieldProblems,
} from './fields';
export { blockText, inlineText, plainText, reportSections, sectionsOf } from './sections';
export { covers, holdsUnseen, isAheadOf } from './seen';
