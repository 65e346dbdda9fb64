import { Value } from 'typebox/value';
import { describe, expect, it } from 'vitest';
import {
  canonicalEntry,
  chainEntry,
  EMPTY_CHAIN,
  GENESIS_HASH,
  hashOfEntry,
  missingSubjectOf,
  type OfflineReadEntry,
  type OfflineReadFields,
  verifyChain,
} from '../src/offline-audit';
import { OfflineReadsUpload } from '../src/schemas/offline-audit';

const STUDY = '3f2b8c1e-6a4d-4e1f-9b7a-2c5d8e9f0a1b';
const REPORT = '7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f';
const VIEWS: OfflineReadFields[] = [
  { at: '2026-12-01T08:00:00.000Z', event: 'worklist-open' },
  { at: '2026-12-01T08:00:05.000Z', event: 'study-open', studyId: STUDY },
  { at: '2026-12-01T08:00:09.120Z', event: 'series-view', studyId: STUDY, seriesInstanceUid: '1.2.840.113619.2.55.3' },
  { at: '2026-12-01T08:01:00.000Z', event: 'report-open', reportId: REPORT },
  { at: '2026-12-01T08:02:00.000Z', event: 'report-pdf', reportId: REPORT, studyId: STUDY },
];

async function chainOf(views: OfflineReadFields[]): Promise<OfflineReadEntry[]> {
  const entries: OfflineReadEntry[] = [];
  for (const view of views) entries.push(await chainEntry(entries.at(-1) ?? null, view));
  return entries;
}

describe('the offline read chain', () => {
  it('numbers entries from 1, starts from 64 zeros and links each to the previous hash', async () => {
    const entries = await chainOf(VIEWS);
    expect(entries.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(entries[0]!.prevHash).toBe(GENESIS_HASH);
    expect(GENESIS_HASH).toMatch(/^0{64}$/);
    for (let i = 1; i < entries.length; i++) expect(entries[i]!.prevHash).toBe(entries[i - 1]!.hash);
    expect(await verifyChain(EMPTY_CHAIN, entries)).toBeNull();
  });

  it('hashes the canonical form (sorted keys, absent fields left out) with SHA-256', async () => {
    const [first, study] = await chainOf(VIEWS);
    const { hash: _firstHash, ...firstUnhashed } = first!;
    expect(canonicalEntry(firstUnhashed)).toBe(
      `{"at":"2026-12-01T08:00:00.000Z","event":"worklist-open","prevHash":"${GENESIS_HASH}","seq":1}`,
    );
    // SHA-256 of that text, computed elsewhere (Python's hashlib).
    expect(first!.hash).toBe('98f6edab2cab79ce4faa58304c0781dda2b3cfa78405e58ebd248751301f5af1');
    const { hash, ...unhashed } = study!;
    expect(canonicalEntry(unhashed)).toBe(
      `{"at":"2026-12-01T08:00:05.000Z","event":"study-open","prevHash":"${first!.hash}","seq":2,"studyId":"${STUDY}"}`,
    );
    // Key order of the object given does not matter; fields the format does not know are not hashed.
    const shuffled = { studyId: STUDY, seq: 2, prevHash: unhashed.prevHash, event: 'study-open', at: unhashed.at, extra: 'x' } as never;
    expect(await hashOfEntry(shuffled)).toBe(hash);
  });

  it('continues from a head other than the start', async () => {
    const entries = await chainOf(VIEWS);
    const head = { seq: entries[2]!.seq, hash: entries[2]!.hash };
    expect(await verifyChain(head, entries.slice(3))).toBeNull();
    const next = await chainEntry(entries[4]!, { at: '2026-12-01T09:00:00.000Z', event: 'worklist-open' });
    expect(next.seq).toBe(6);
    expect(await verifyChain({ seq: 5, hash: entries[4]!.hash }, [next])).toBeNull();
  });

  const tampered: { name: string; edit(entries: OfflineReadEntry[]): OfflineReadEntry[]; problem: { index: number; kind: string } }[] = [
    { name: 'a removed entry', edit: (e) => [e[0]!, e[1]!, e[3]!, e[4]!], problem: { index: 2, kind: 'gap' } },
    { name: 'the first entry removed', edit: (e) => e.slice(1), problem: { index: 0, kind: 'gap' } },
    {
      name: 'a changed field (hash left as it was)',
      edit: (e) => e.map((x, i) => (i === 1 ? { ...x, studyId: REPORT } : x)),
      problem: { index: 1, kind: 'hash' },
    },
    {
      name: 'a changed time with a recomputed hash (the next entry no longer links)',
      edit: (e) => e,
      problem: { index: 2, kind: 'prev-hash' },
    },
    { name: 'two entries swapped', edit: (e) => [e[0]!, e[2]!, e[1]!, e[3]!, e[4]!], problem: { index: 1, kind: 'gap' } },
    {
      name: 'two entries swapped and renumbered',
      edit: (e) => [e[0]!, { ...e[2]!, seq: 2 }, { ...e[1]!, seq: 3 }, e[3]!, e[4]!],
      problem: { index: 1, kind: 'prev-hash' },
    },
    {
      name: 'a forged hash',
      edit: (e) => e.map((x, i) => (i === 3 ? { ...x, hash: 'f'.repeat(64) } : x)),
      problem: { index: 3, kind: 'hash' },
    },
    { name: 'an entry repeated', edit: (e) => [e[0]!, e[1]!, e[1]!, e[2]!], problem: { index: 2, kind: 'gap' } },
  ];

  it.each(tampered)('finds $name', async ({ name, edit, problem }) => {
    const entries = await chainOf(VIEWS);
    let edited = edit(entries);
    if (name.startsWith('a changed time')) {
      const { hash: _old, ...rest } = entries[1]!;
      const changed = { ...rest, at: '2026-12-01T07:00:00.000Z' };
      edited = [entries[0]!, { ...changed, hash: await hashOfEntry(changed) }, ...entries.slice(2)];
    }
    expect(await verifyChain(EMPTY_CHAIN, edited)).toMatchObject(problem);
  });

  it('finds an inserted entry, even one chained properly onto its predecessor', async () => {
    const entries = await chainOf(VIEWS);
    const inserted = await chainEntry(entries[1]!, { at: '2026-12-01T08:00:06.000Z', event: 'study-open', studyId: REPORT });
    const renumbered = entries.slice(2).map((e) => ({ ...e, seq: e.seq + 1 }));
    expect(await verifyChain(EMPTY_CHAIN, [entries[0]!, entries[1]!, inserted, ...renumbered])).toMatchObject({
      index: 3,
      kind: 'prev-hash',
    });
  });

  it('refuses a first entry that does not start from the head', async () => {
    const entries = await chainOf(VIEWS);
    expect(await verifyChain({ seq: 1, hash: 'a'.repeat(64) }, entries.slice(1))).toMatchObject({ index: 0, kind: 'prev-hash' });
  });

  it('names what each event must point at', () => {
    expect(missingSubjectOf({ at: VIEWS[0]!.at, event: 'worklist-open' })).toBeNull();
    expect(missingSubjectOf({ at: VIEWS[0]!.at, event: 'study-open' })).toBe('studyId');
    expect(missingSubjectOf({ at: VIEWS[0]!.at, event: 'series-view', studyId: STUDY })).toBe('seriesInstanceUid');
    expect(missingSubjectOf({ at: VIEWS[0]!.at, event: 'report-pdf', studyId: STUDY })).toBe('reportId');
  });

  it('takes an upload of chained entries and refuses unknown fields, bad hashes and over 1000 entries', async () => {
    const entries = await chainOf(VIEWS);
    const deviceId = '0b5c2f9e-1d3a-4b6c-8d7e-9f0a1b2c3d4e';
    expect(Value.Check(OfflineReadsUpload, { deviceId, entries })).toBe(true);
    expect(Value.Check(OfflineReadsUpload, { deviceId, entries, extra: 1 })).toBe(false);
    expect(Value.Check(OfflineReadsUpload, { deviceId, entries: [{ ...entries[0]!, note: 'x' }] })).toBe(false);
    expect(Value.Check(OfflineReadsUpload, { deviceId, entries: [{ ...entries[0]!, hash: 'ABC' }] })).toBe(false);
    expect(Value.Check(OfflineReadsUpload, { deviceId, entries: [{ ...entries[0]!, at: '2026-12-01 08:00:00' }] })).toBe(false);
    expect(Value.Check(OfflineReadsUpload, { deviceId, entries: [] })).toBe(false);
    expect(Value.Check(OfflineReadsUpload, { deviceId, entries: Array.from({ length: 1001 }, () => entries[0]) })).toBe(false);
  });
});
