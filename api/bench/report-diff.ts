/**
 * The changes between a resident's preliminary and the final of a 20-page report: the word diff
 * alone (shared/report-document/diff.ts) and the whole `GET /api/reports/:id/changes` answer (two
 * versions read, diffed, serialised, audited), in this process on a fresh SQLite database.
 * Goal: shown in < 100 ms. A page is ~500 words; the attending changes about one word in twenty.
 *
 * Run: pnpm --filter @pacs/api exec tsx bench/report-diff.ts [--runs 50]
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { diffReport, type SectionText } from '@pacs/shared/report-document';
import { canonicalJson } from '../src/reports/content';
import { bearer, createTestApp } from '../test/support/app';
import { seedStudy } from '../test/support/studies';
import { machine } from './support';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '50' }, pages: { type: 'string', default: '20' } } });
const RUNS = Number(values.runs);
const WORDS = Number(values.pages) * 500;

/** Deterministic text: a seeded generator, so every run diffs the same report. */
function random(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const next = random(20261204);
const vocabulary =
  'the right left lobe nodule effusion no acute findings stable since prior mm cm with without contrast enhancement lesion segment liver kidney normal size'.split(
    ' ',
  );
const word = () => vocabulary[Math.floor(next() * vocabulary.length)]!;
const keys = ['clinical-history', 'technique', 'comparison', 'findings', 'impression'];
const shares = [0.05, 0.05, 0.05, 0.7, 0.15];
const before: SectionText[] = keys.map((key, i) => ({
  key,
  title: key,
  text: Array.from({ length: Math.round(WORDS * shares[i]!) }, word).join(' '),
}));
const after: SectionText[] = before.map((s) => {
  const words = s.text.split(' ');
  for (let i = 0; i < words.length / 20; i += 1) {
    const at = Math.floor(next() * words.length);
    if (next() < 0.5) words.splice(at, 1);
    else words.splice(at, 0, word());
  }
  return { ...s, text: words.join(' ') };
});

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
function summary(times: number[]) {
  const sorted = [...times].sort((a, b) => a - b);
  return `p50 ${percentile(sorted, 50).toFixed(1)} ms · p95 ${percentile(sorted, 95).toFixed(1)} ms · max ${sorted.at(-1)!.toFixed(1)} ms`;
}

const pureTimes: number[] = [];
let changed = 0;
for (let i = 0; i < RUNS; i += 1) {
  const start = performance.now();
  const diff = diffReport(before, after);
  pureTimes.push(performance.now() - start);
  changed = diff.inserted + diff.deleted;
}

const t = await createTestApp();
try {
  const study = await seedStudy(t.app);
  const author = await t.userWithToken('attending');
  const reportId = randomUUID();
  await t.app.db.models.Report.create({
    id: reportId,
    studyRef: study.id,
    primarySlot: study.id,
    authorId: author.id,
    status: 'final',
  } as never);
  for (const [sequence, sections, event] of [
    [1, before, 'submit'],
    [2, after, 'finalize'],
  ] as const) {
    await t.app.db.models.ReportVersion.create({
      reportId,
      sequence,
      event,
      status: event === 'submit' ? 'preliminary' : 'final',
      contentJson: canonicalJson({ doc: { type: 'doc', content: [] }, sections }),
      contentText: sections.map((s) => s.text).join('\n'),
      yjsState: '',
      userId: author.id,
      userName: 'Bench',
    });
  }
  const routeTimes: number[] = [];
  for (let i = 0; i < RUNS; i += 1) {
    const start = performance.now();
    const response = await t.app.inject({ url: `/api/reports/${reportId}/changes`, headers: bearer(author.token) });
    routeTimes.push(performance.now() - start);
    if (response.statusCode !== 200) throw new Error(`changes answered ${response.statusCode}: ${response.body}`);
  }
  console.log(`machine: ${machine()}`);
  console.log(`report: ${WORDS} words in ${keys.length} sections, ${changed} words changed`);
  console.log(`| diff (shared, in process) | ${summary(pureTimes)} |`);
  console.log(`| GET /api/reports/:id/changes (SQLite, audited) | ${summary(routeTimes)} |`);
} finally {
  await t.close();
}
