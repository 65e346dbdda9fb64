/**
 * What a QIDO-RS search is audited with: the criteria it was asked with (the parsed parameters) and
 * the studies (and patients) its answer names. A search answer is read whole before it is sent, so
 * the row is written before any result leaves, and its size is bounded.
 */
import type { SearchLevel } from './route-parser';

/** Answers above this are refused rather than held in memory (a search without `limit` on a large archive). */
export const MAX_SEARCH_ANSWER_BYTES = 32 * 2 ** 20;
/** Study UIDs named in one audit row; the count is always recorded. */
const MAX_LISTED_STUDIES = 500;

export class SearchAnswerTooLarge extends Error {
  override name = 'SearchAnswerTooLarge';
}

/** The body of an upstream answer, refusing more than `limit` bytes. */
export async function readBounded(response: Response, limit = MAX_SEARCH_ANSWER_BYTES): Promise<Buffer> {
  if (!response.body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.length;
    if (size > limit) {
      await response.body.cancel().catch(() => {});
      throw new SearchAnswerTooLarge(`search answer over ${limit} bytes`);
    }
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

/** Parameters as an object; a name given several times (includefield) keeps every value. */
export function criteriaOf(query: [string, string][]): Record<string, string | string[]> {
  const criteria: Record<string, string | string[]> = {};
  for (const [name, value] of query) {
    const known = criteria[name];
    criteria[name] = known === undefined ? value : Array.isArray(known) ? [...known, value] : [known, value];
  }
  return criteria;
}

type DicomJson = Record<string, { Value?: unknown[] } | undefined>;

function firstString(item: DicomJson, tag: string): string | undefined {
  const value = item[tag]?.Value?.[0];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Study UIDs (0020000D) and patient IDs (00100020) in a DICOM JSON answer; null when it is not one. */
export function resultsOf(body: Buffer, contentType: string | null): { studies: string[]; patientIds: string[]; count: number } | null {
  if (!/json/i.test(contentType ?? '')) return null;
  let items: unknown;
  try {
    items = JSON.parse(body.toString('utf8'));
  } catch {
    return null;
  }
  if (!Array.isArray(items)) return null;
  const studies = new Set<string>();
  const patientIds = new Set<string>();
  for (const item of items as DicomJson[]) {
    if (!item || typeof item !== 'object') continue;
    const study = firstString(item, '0020000D');
    const patient = firstString(item, '00100020');
    if (study) studies.add(study);
    if (patient) patientIds.add(patient);
  }
  return { studies: [...studies], patientIds: [...patientIds], count: items.length };
}

/** The `details` of a search's audit row. */
export function searchDetails(
  level: SearchLevel,
  query: [string, string][],
  results: ReturnType<typeof resultsOf>,
  status: number,
): Record<string, unknown> {
  const details: Record<string, unknown> = { via: 'dicom-web', level, criteria: criteriaOf(query), status };
  if (results) {
    details.resultCount = results.count;
    details.studies = results.studies.slice(0, MAX_LISTED_STUDIES);
    details.studyCount = results.studies.length;
    details.patientIds = results.patientIds.slice(0, MAX_LISTED_STUDIES);
  }
  return details;
}
