/**
 * The coded concepts (RadLex and other schemes from the template) of a signed report, read from its
 * stored content, for the places that carry codes: FHIR DiagnosticReport.conclusionCode and coded
 * OBX segments of the ORU.
 */
import type { ConceptCode } from '@pacs/shared';
import { type CodedConcept, codedConcepts } from '@pacs/shared/report-document';
import type { ReportAttributes } from '../db/models';
import { storedContent } from './present';

/** The signed report's coded concepts (none before signature); an addendum's come after the original's. */
export function codedConceptsOf(...rows: (ReportAttributes | undefined)[]): CodedConcept[] {
  return rows.flatMap((row) => {
    const content = row ? storedContent(row) : null;
    return content ? codedConcepts(content.doc) : [];
  });
}

/** FHIR code systems for the coding-scheme designators MRRT templates use. */
const FHIR_SYSTEMS: Record<string, string> = {
  RADLEX: 'http://www.radlex.org',
  RADELEMENT: 'http://radelement.org',
  LN: 'http://loinc.org',
  LOINC: 'http://loinc.org',
  SCT: 'http://snomed.info/sct',
  SNOMED: 'http://snomed.info/sct',
  SNM3: 'http://snomed.info/sct',
};

export const fhirSystemOf = (code: ConceptCode) => FHIR_SYSTEMS[code.scheme.toUpperCase()] ?? `urn:pacs:coding-scheme:${code.scheme}`;
