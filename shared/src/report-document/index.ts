/** The report document: its shape and seeding, the one sections reader, the "what you saw" check, base64. */
export { fromBase64, toBase64 } from './base64';
export { type DiffPart, diffReport, diffTokens, type ReportDiff, type SectionDiff, type SectionText, tokens } from './diff';
export { type PMMark, type PMNode, proseMirrorJson, seedReportUpdate } from './document';
export { blockText, inlineText, plainText, reportSections, sectionsOf } from './sections';
export { covers, holdsUnseen, isAheadOf } from './seen';
