/**
 * A report started offline on the device: the template chosen by the shared rule from the kept
 * list, the seed stored as a writable device copy, and the merge of what was typed into a report
 * started elsewhere (each typed line once, the template never twice), with a seeded fuzz of edits.
 */
import type { Template } from '@pacs/shared';
import { reportSections, seedReportUpdate } from '@pacs/shared/report-document';
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { TEST_DATA_KEY } from '../test/data-key';
import { DEVICE_COPY_META, reportDbName } from './connection';
import {
  dropDeviceCopy,
  mergeOfflineDraft,
  OFFLINE_DRAFT_MARK,
  planOfflineStart,
  readDeviceCopy,
  rememberedTemplates,
  rememberTemplates,
  storeSeed,
  typedBeyondSeed,
} from './offline-start';
import { SealedDocStore } from './sealed-doc-store';

const template = (id: string, modalities: string[], bodyPart: string, createdAt: string, titles: string[]): Template => ({
  id,
  name: id,
  modalities,
  bodyPart,
  sections: titles.map((title) => ({ key: title.toLowerCase().replace(' ', '-'), title })),
  procedureCodes: [],
  builtIn: false,
  retired: false,
  retiredAt: null,
  version: 1,
  createdAt,
  updatedAt: createdAt,
});
const CT_ANY = template('00000000-0000-4000-8000-000000000001', ['CT'], '', '2026-01-01T00:00:00.000Z', ['Findings', 'Impression']);
const CT_CHEST = template('00000000-0000-4000-8000-000000000002', ['CT'], 'CHEST', '2026-02-01T00:00:00.000Z', [
  'Clinical history',
  'Findings',
  'Impression',
]);
const study = { id: '10000000-0000-4000-8000-000000000000', modalities: ['CT'], bodyPart: 'CHEST', indication: 'Cough for 3 weeks' };

afterEach(() => localStorage.clear());

/** Types a line at the end of a section, as the editor would (a new paragraph). */
function typeLine(doc: Y.Doc, title: string, text: string): void {
  const fragment = doc.getXmlFragment('default');
  const nodes = fragment.toArray();
  const at = nodes.findIndex((n) => n instanceof Y.XmlElement && n.nodeName === 'heading' && n.toString().includes(`>${title}<`));
  let end = at + 1;
  while (end < nodes.length && !(nodes[end] instanceof Y.XmlElement && (nodes[end] as Y.XmlElement).nodeName === 'heading')) end += 1;
  const p = new Y.XmlElement('paragraph');
  const t = new Y.XmlText();
  t.insert(0, text);
  p.insert(0, [t]);
  fragment.insert(end, [p]);
}

/** Appends text to an existing line of a section (the n-th block after its heading). */
function appendTo(doc: Y.Doc, title: string, n: number, text: string): boolean {
  const nodes = doc.getXmlFragment('default').toArray();
  const at = nodes.findIndex((x) => x instanceof Y.XmlElement && x.nodeName === 'heading' && x.toString().includes(`>${title}<`));
  const block = nodes[at + 1 + n];
  if (!(block instanceof Y.XmlElement) || block.nodeName !== 'paragraph') return false;
  let leaf = block.toArray().find((c) => c instanceof Y.XmlText) as Y.XmlText | undefined;
  if (!leaf) {
    leaf = new Y.XmlText();
    block.insert(0, [leaf]);
  }
  leaf.insert(leaf.length, text);
  return true;
}

const textOf = (doc: Y.Doc) =>
  reportSections(doc)
    .map((s) => `${s.title}\n${s.text}`)
    .join('\n\n');
const count = (text: string, part: string) => text.split(part).length - 1;

describe('planning an offline start', () => {
  it('uses the kept template list and the shared rule: the body part match wins, the indication fills the clinical history', () => {
    expect(rememberedTemplates()).toBeNull();
    rememberTemplates([CT_ANY, CT_CHEST]);
    const templates = rememberedTemplates()!;
    const plan = planOfflineStart(study, templates, 'user-1', new Date('2026-03-01T10:00:00Z'));
    expect(plan.report).toMatchObject({
      studyId: study.id,
      status: 'draft',
      templateId: CT_CHEST.id,
      authorId: 'user-1',
      document: `report:${plan.report.id}`,
    });
    expect(plan.report.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(plan.pending.templateId).toBe(CT_CHEST.id);
    const doc = new Y.Doc();
    Y.applyUpdate(doc, plan.seed);
    expect(reportSections(doc).map((s) => [s.title, s.text])).toEqual([
      ['Clinical history', 'Cough for 3 weeks'],
      ['Findings', ''],
      ['Impression', ''],
    ]);
    // Another modality: no template fits, the fallback sections (as the server would).
    const mr = planOfflineStart({ ...study, modalities: ['MR'] }, templates, 'user-1');
    expect(mr.report.templateId).toBeNull();
    // Every plan is a new report: a new id each time.
    expect(planOfflineStart(study, templates, 'u').report.id).not.toBe(plan.report.id);
  });

  it('keeps the seed as a writable device copy that opens with the same items, and drops it', async () => {
    const plan = planOfflineStart(study, [CT_CHEST], 'user-2');
    await storeSeed('user-2', plan.report.id, TEST_DATA_KEY, plan.seed);
    const copy = await readDeviceCopy('user-2', plan.report.id, TEST_DATA_KEY);
    // Same client id and clocks: the server's copy of this seed adds nothing to it.
    expect(Y.encodeStateVector(copy)).toEqual(
      Y.encodeStateVector(
        (() => {
          const d = new Y.Doc();
          Y.applyUpdate(d, plan.seed);
          return d;
        })(),
      ),
    );
    const doc = new Y.Doc();
    const store = new SealedDocStore(reportDbName('user-2', plan.report.id), doc, TEST_DATA_KEY, plan.report.id);
    await store.whenLoaded;
    expect(await store.get(DEVICE_COPY_META.mode)).toBe('rw');
    store.destroy();
    await dropDeviceCopy('user-2', plan.report.id);
    const after = await readDeviceCopy('user-2', plan.report.id, TEST_DATA_KEY);
    expect(reportSections(after)).toEqual([]);
  });
});

describe('merging an offline draft into a report started elsewhere', () => {
  it('takes only what was typed, per section, and writes it once into the matching sections, marked', () => {
    const plan = planOfflineStart(study, [CT_CHEST], 'me');
    const offline = new Y.Doc();
    Y.applyUpdate(offline, plan.seed);
    typeLine(offline, 'Findings', 'Small nodule in the right upper lobe.');
    appendTo(offline, 'Impression', 0, 'Follow-up CT in 6 months.');
    typeLine(offline, 'Clinical history', 'Smoker.');

    const additions = typedBeyondSeed(offline, plan.seed);
    expect(additions).toEqual([
      { title: 'Clinical history', lines: ['Smoker.'] },
      { title: 'Findings', lines: ['Small nodule in the right upper lobe.'] },
      { title: 'Impression', lines: ['Follow-up CT in 6 months.'] },
    ]);

    // The other report: the same template seeded on its own, with someone's text already in it.
    const other = new Y.Doc();
    Y.applyUpdate(
      other,
      seedReportUpdate([{ title: 'Clinical history', defaultText: 'Cough for 3 weeks' }, { title: 'Findings' }, { title: 'Impression' }]),
    );
    appendTo(other, 'Findings', 0, 'No effusion.');
    mergeOfflineDraft(other, additions);
    const sections = reportSections(other);
    expect(sections.map((s) => [s.title, s.text])).toEqual([
      ['Clinical history', `Cough for 3 weeks\n${OFFLINE_DRAFT_MARK}Smoker.`],
      ['Findings', `No effusion.\n${OFFLINE_DRAFT_MARK}Small nodule in the right upper lobe.`],
      // After the seed's empty line, which stays.
      ['Impression', `\n${OFFLINE_DRAFT_MARK}Follow-up CT in 6 months.`],
    ]);
  });

  it('a section the other report does not have is kept at the end under its own heading', () => {
    const other = new Y.Doc();
    Y.applyUpdate(other, seedReportUpdate([{ title: 'Findings' }]));
    mergeOfflineDraft(other, [{ title: 'Comparison', lines: ['CT of 2025-01-01.'] }]);
    expect(reportSections(other).map((s) => [s.title, s.text])).toEqual([
      ['Findings', ''],
      ['Offline draft: Comparison', `${OFFLINE_DRAFT_MARK}CT of 2025-01-01.`],
    ]);
  });

  it('nothing seeded beyond the template: nothing to merge', () => {
    const plan = planOfflineStart(study, [CT_CHEST], 'me');
    const offline = new Y.Doc();
    Y.applyUpdate(offline, plan.seed);
    expect(typedBeyondSeed(offline, plan.seed)).toEqual([]);
  });

  it('seeded fuzz: every typed line lands once, every heading stays once', () => {
    const titles = ['Clinical history', 'Findings', 'Impression'];
    for (let seedValue = 1; seedValue <= 40; seedValue++) {
      let state = seedValue;
      const random = () => {
        state = (state * 1103515245 + 12345) % 2147483648;
        return state / 2147483648;
      };
      const plan = planOfflineStart(study, [CT_CHEST], 'me');
      const offline = new Y.Doc();
      Y.applyUpdate(offline, plan.seed);
      const typed: string[] = [];
      for (let edit = 0; edit < 1 + Math.floor(random() * 6); edit++) {
        const title = titles[Math.floor(random() * titles.length)]!;
        const text = `edit-${seedValue}-${edit}`;
        if (random() < 0.5 || !appendTo(offline, title, 0, ` ${text}`)) typeLine(offline, title, text);
        typed.push(text);
      }
      const other = new Y.Doc();
      Y.applyUpdate(other, seedReportUpdate(titles.map((title) => ({ title }))));
      appendTo(other, 'Findings', 0, 'Started online.');
      mergeOfflineDraft(other, typedBeyondSeed(offline, plan.seed));
      const text = textOf(other);
      for (const t of typed) expect(count(text, t), `${t} in seed ${seedValue}`).toBe(1);
      for (const title of titles) expect(count(text, `${title}\n`), `${title} in seed ${seedValue}`).toBe(1);
      expect(count(text, 'Started online.')).toBe(1);
    }
  });
});
