/**
 * Starting a report with the network off. The device picks the template with the same rule the
 * server uses (`chooseTemplate`, @pacs/shared) from the template list it kept while online, seeds
 * the document itself under an id of its own, and keeps the seed: the server adopts the report
 * under that id and stores that very seed, so the document holds the template once.
 *
 * When someone else started the study's report meanwhile, the two documents were seeded apart and
 * a Yjs merge would hold the template twice. So only what the user typed beyond the seed is taken,
 * per section, and written into the other report's matching sections, marked as the offline
 * draft's, by this user's own editor connection (authorship stays theirs).
 */
import {
  chooseTemplate,
  FALLBACK_SECTIONS,
  REPORT_DOCUMENT_SHAPE,
  type Report,
  type Template,
  type WorklistStudy,
  withClinicalHistory,
} from '@pacs/shared';
import { reportSections, seedReportUpdate, toBase64 } from '@pacs/shared/report-document';
import * as Y from 'yjs';
import { DEVICE_COPY_META, reportDbName } from './connection';
import { SealedDocStore } from './sealed-doc-store';

const TEMPLATE_LIST = 'pacs.templates';
/** What marks a line the offline draft brought into a report started elsewhere. */
export const OFFLINE_DRAFT_MARK = '(offline draft) ';

/** The templates as the server listed them, kept for starting reports offline (no patient data). */
export function rememberTemplates(templates: readonly Template[]): void {
  try {
    localStorage.setItem(TEMPLATE_LIST, JSON.stringify(templates));
  } catch {
    // Storage full: offline starts use the list kept before.
  }
}

/** null: this device never listed the templates, so it cannot start a report offline. */
export function rememberedTemplates(): Template[] | null {
  try {
    const list = JSON.parse(localStorage.getItem(TEMPLATE_LIST) ?? 'null') as unknown;
    return Array.isArray(list) ? (list as Template[]) : null;
  } catch {
    return null;
  }
}

/** A report started on this device and not yet on the server: what the server needs to adopt it. */
export interface PendingStart {
  templateId: string | null;
  /** The Yjs update (base64) the document was seeded with. */
  seed: string;
}

export interface OfflineStart {
  report: Report;
  pending: PendingStart;
  seed: Uint8Array;
}

/** The report to start on `study` offline: its id, template choice, seed, and the metadata the page shows. */
export function planOfflineStart(
  study: Pick<WorklistStudy, 'id' | 'modalities' | 'bodyPart' | 'indication'>,
  templates: readonly Template[],
  authorId: string,
  now = new Date(),
): OfflineStart {
  // The procedure code of the order is not on the device: the rule falls back to modality and body part.
  const template = chooseTemplate(templates, { modalities: study.modalities, bodyPart: study.bodyPart, procedureCode: '' });
  const sections = withClinicalHistory(template?.sections ?? FALLBACK_SECTIONS, study.indication);
  const seed = seedReportUpdate(sections);
  const id = crypto.randomUUID();
  const at = now.toISOString();
  const report: Report = {
    id,
    studyId: study.id,
    parentReportId: null,
    status: 'draft',
    document: `report:${id}`,
    templateId: template?.id ?? null,
    authorId,
    version: 1,
    locked: false,
    preliminarySignature: null,
    finalSignature: null,
    returnComment: null,
    content: null,
    integrity: { verified: null, signature: null },
    createdAt: at,
    updatedAt: at,
    addenda: [],
  };
  return { report, pending: { templateId: report.templateId, seed: toBase64(seed) }, seed };
}

/** What the user typed beyond the seed in one section: whole lines, as they read now. */
export interface SectionAddition {
  title: string;
  lines: string[];
}

/** Lines of each section that the seed did not have (a seeded line the user changed counts as typed). */
export function typedBeyondSeed(doc: Y.Doc, seed: Uint8Array): SectionAddition[] {
  const seeded = new Y.Doc();
  Y.applyUpdate(seeded, seed);
  const before = new Map<string, string[]>();
  for (const section of reportSections(seeded)) before.set(section.title, section.text.split('\n'));
  seeded.destroy();
  const additions: SectionAddition[] = [];
  for (const section of reportSections(doc)) {
    const left = [...(before.get(section.title) ?? [])];
    const lines: string[] = [];
    for (const line of section.text.split('\n')) {
      const at = left.indexOf(line);
      if (at >= 0) left.splice(at, 1);
      else if (line.trim() !== '') lines.push(line);
    }
    if (lines.length > 0) additions.push({ title: section.title, lines });
  }
  return additions;
}

function paragraph(text: string): Y.XmlElement {
  const p = new Y.XmlElement('paragraph');
  const t = new Y.XmlText();
  t.insert(0, text, {});
  p.insert(0, [t]);
  return p;
}

function textOf(element: Y.XmlElement): string {
  return element
    .toArray()
    .map((child) => (child instanceof Y.XmlText ? (child.toDelta() as { insert: unknown }[]).map((op) => String(op.insert)).join('') : ''))
    .join('');
}

const isSectionHeading = (node: unknown): node is Y.XmlElement =>
  node instanceof Y.XmlElement &&
  node.nodeName === 'heading' &&
  Number(node.getAttribute('level') ?? 1) <= REPORT_DOCUMENT_SHAPE.sectionHeadingLevel;

/**
 * Writes the additions into `doc` (another report's document): each line at the end of the section
 * of the same title, marked; lines of a section the report does not have go to the end under their
 * own heading. One transaction, so the editor and the server see it as one change.
 */
export function mergeOfflineDraft(doc: Y.Doc, additions: readonly SectionAddition[]): void {
  const fragment = doc.getXmlFragment(REPORT_DOCUMENT_SHAPE.fragment);
  doc.transact(() => {
    for (const addition of additions) {
      const nodes = fragment.toArray();
      const start = nodes.findIndex((n) => isSectionHeading(n) && textOf(n).trim() === addition.title);
      const marked = addition.lines.map((line) => paragraph(`${OFFLINE_DRAFT_MARK}${line}`));
      if (start < 0 || addition.title === '') {
        const heading = new Y.XmlElement('heading');
        heading.setAttribute('level', REPORT_DOCUMENT_SHAPE.sectionHeadingLevel as unknown as string);
        const t = new Y.XmlText();
        t.insert(0, addition.title ? `Offline draft: ${addition.title}` : 'Offline draft');
        heading.insert(0, [t]);
        fragment.insert(fragment.length, [heading, ...marked]);
        continue;
      }
      let end = start + 1;
      while (end < nodes.length && !isSectionHeading(nodes[end])) end += 1;
      fragment.insert(end, marked);
    }
  });
}

// ---------------------------------------------------------------- the device copy

/** Writes the seed as the new report's device copy, writable while offline (the editor opens it as any report). */
export async function storeSeed(userId: string, reportId: string, dataKey: CryptoKey, seed: Uint8Array): Promise<void> {
  const doc = new Y.Doc();
  const store = new SealedDocStore(reportDbName(userId, reportId), doc, dataKey, reportId);
  try {
    await store.whenLoaded;
    Y.applyUpdate(doc, seed);
    await store.flushed();
    await store.set(DEVICE_COPY_META.mode, 'rw');
  } finally {
    store.destroy();
    doc.destroy();
  }
}

/** The report's device copy as it is now (the caller destroys the doc). */
export async function readDeviceCopy(userId: string, reportId: string, dataKey: CryptoKey): Promise<Y.Doc> {
  const doc = new Y.Doc();
  const store = new SealedDocStore(reportDbName(userId, reportId), doc, dataKey, reportId);
  try {
    await store.whenLoaded;
    return doc;
  } finally {
    store.destroy();
  }
}

/** Deletes a report's device copy (a report started offline whose text went into another). */
export function dropDeviceCopy(userId: string, reportId: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.deleteDatabase(reportDbName(userId, reportId));
    request.onsuccess = () => resolve();
    request.onerror = () => reject(request.error);
  });
}
