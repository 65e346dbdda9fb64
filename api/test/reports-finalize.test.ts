/**
 * finalizeReport step by step, against a real database and a fake sync client: every outcome of
 * claim, lock at the reviewed state (LOCK-1, LOCK-8), store signed and compensate (LOCK-7), without
 * a sync-server process. The HTTP mapping is covered by reports-lifecycle.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { reportDocumentName, type SyncLockResponse } from '@pacs/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { ReportAttributes, StudyAttributes } from '../src/db/models';
import { b64, seedUpdate } from '../src/reports/content';
import { type FinalizeDeps, type FinalizeInput, finalizeReport } from '../src/reports/finalize';
import { createReportStore, type ReportStore } from '../src/reports/report-store';
import { verifyIntegrity } from '../src/reports/signing';
import { type SyncClient, SyncServerError } from '../src/reports/sync-client';
import { createVersionStore } from '../src/reports/versions';
import { createTestApp, type TestApp } from './support/app';
import { seedStudy } from './support/studies';

const CLAIM_TTL_MS = 60_000;

let t: TestApp;
let store: ReportStore;
let attending: FinalizeInput['principal'];
let resident: FinalizeInput['principal'];

beforeAll(async () => {
  t = await createTestApp();
  store = createReportStore(t.app.db);
  const a = await t.userWithToken('attending');
  const r = await t.userWithToken('resident');
  attending = { userId: a.id, role: 'attending', name: 'Dr Attending' };
  resident = { userId: r.id, role: 'resident', name: 'Dr Resident' };
}, 60_000);

afterAll(async () => {
  await t?.close();
});

/** A document as the signer saw it: its full state, state vector and snapshot, base64. */
function documentState(text: string) {
  const update = seedUpdate([{ title: 'Findings', defaultText: text }]);
  const doc = new Y.Doc();
  Y.applyUpdate(doc, update);
  const state = { update: b64(update), stateVector: b64(Y.encodeStateVector(doc)), snapshot: b64(Y.encodeSnapshot(Y.snapshot(doc))) };
  doc.destroy();
  return state;
}

type LockBody = Parameters<SyncClient['lock']>[1];

/** The sync client's lock/unlock, answered by `onLock`; every call is recorded. */
function fakeSync(onLock: (name: string, body: LockBody) => Promise<SyncLockResponse>) {
  const calls = { lock: [] as { name: string; body: LockBody }[], unlock: [] as string[] };
  const sync: Pick<SyncClient, 'lock' | 'unlock'> = {
    async lock(name, body) {
      calls.lock.push({ name, body });
      return onLock(name, body);
    },
    async unlock(name) {
      calls.unlock.push(name);
      return { unlocked: true, wasLocked: true };
    },
  };
  return { sync, calls };
}

const lockedAt = (state: { update: string; stateVector: string }, alreadyLocked = false): SyncLockResponse => ({
  update: state.update,
  stateVector: state.stateVector,
  lockedAt: new Date().toISOString(),
  lockedBy: attending.userId,
  alreadyLocked,
});

function depsWith(sync: FinalizeDeps['sync'], overrides: Partial<FinalizeDeps> = {}) {
  const audited: Record<string, unknown>[] = [];
  const loaded: string[] = [];
  const errors: string[] = [];
  const deps: FinalizeDeps = {
    store,
    sync,
    claimTtlMs: CLAIM_TTL_MS,
    keyring: t.app.reportKeys,
    versions: createVersionStore(t.app.db.models),
    log: { error: (_context: unknown, message?: string) => void errors.push(message ?? '') } as FinalizeDeps['log'],
    audit: async (_transaction, _report, _study, details) => {
      audited.push(details);
    },
    onLoaded: (report) => void loaded.push(report.id),
    ...overrides,
  };
  return { deps, audited, loaded, errors };
}

async function draftReport(overrides: Partial<ReportAttributes> = {}): Promise<{ report: ReportAttributes; study: StudyAttributes }> {
  const study = await seedStudy(t.app);
  const id = randomUUID();
  await store.transaction((transaction) =>
    store.createPrimaryReport({ id, studyId: study.id, authorId: attending.userId, templateId: null }, transaction),
  );
  if (Object.keys(overrides).length > 0) await t.app.db.models.Report.update(overrides, { where: { id } });
  return { report: (await store.loadReport(id)).get(), study };
}

const reload = async (id: string) => (await store.loadReport(id)).get();

describe('finalizeReport', () => {
  it('claims, locks at the reviewed state, stores the signed content and moves the study', async () => {
    const { report, study } = await draftReport();
    const seen = documentState('No acute findings.');
    const { sync, calls } = fakeSync(async () => lockedAt(seen));
    const { deps, audited, loaded } = depsWith(sync);

    const result = await finalizeReport(deps, {
      reportId: report.id,
      principal: attending,
      stateVector: seen.stateVector,
      snapshot: seen.snapshot,
    });

    expect(result.outcome).toBe('finalized');
    expect(loaded).toEqual([report.id]);
    expect(calls.lock).toEqual([
      { name: reportDocumentName(report.id), body: { stateVector: seen.stateVector, snapshot: seen.snapshot, lockedBy: attending.userId } },
    ]);
    expect(calls.unlock).toEqual([]);
    const stored = await reload(report.id);
    expect(stored).toMatchObject({
      status: 'final',
      finalSignerId: attending.userId,
      finalSignerName: 'Dr Attending',
      finalUpdate: seen.update,
      finalStateVector: seen.stateVector,
      finalizingBy: null,
      finalizingAt: null,
      version: report.version + 2, // the claim, then the signature
    });
    expect(stored.contentText).toContain('No acute findings.');
    expect(verifyIntegrity(stored, t.app.reportKeys)).toBe(true);
    expect(stored.signatureKeyId).toBe(t.app.reportKeys.current.keyId);
    expect(audited).toHaveLength(1);
    expect(audited[0]).toMatchObject({ transition: 'finalize', to: 'final', hash: stored.contentHash, addendum: false });
    expect((await store.loadStudy(study.id)).get('status')).toBe('final');
  });

  it('a sync-server 409 (unseen edits) releases the claim and passes its state vector on; nothing locked, nothing stored', async () => {
    const { report } = await draftReport();
    const { sync, calls } = fakeSync(async () => {
      throw new SyncServerError(409, 'unseen', { stateVector: 'AQID' });
    });
    const { deps, audited } = depsWith(sync);

    const result = await finalizeReport(deps, { reportId: report.id, principal: attending, stateVector: documentState('x').stateVector });

    expect(result).toEqual({
      outcome: 'unseen-updates',
      message: 'the document holds edits you have not seen; review them and sign again',
      stateVector: 'AQID',
    });
    expect(calls.unlock).toEqual([]);
    expect(audited).toEqual([]);
    expect(await reload(report.id)).toMatchObject({ status: 'draft', finalizingBy: null, finalizingAt: null, contentHash: null });
  });

  it('a sync-server 400 is a bad state; unreachable is a sync failure; both release the claim', async () => {
    const { report } = await draftReport();
    const unreachable = new SyncServerError(0, 'sync-server unreachable');
    const answers = [new SyncServerError(400, 'bad'), unreachable];
    const { sync } = fakeSync(async () => {
      throw answers.shift();
    });
    const { deps } = depsWith(sync);
    const input = { reportId: report.id, principal: attending, stateVector: documentState('x').stateVector };

    expect(await finalizeReport(deps, input)).toEqual({
      outcome: 'bad-state',
      message: 'stateVector or snapshot is not a valid Yjs encoding',
    });
    expect((await reload(report.id)).finalizingBy).toBeNull();
    expect(await finalizeReport(deps, input)).toEqual({ outcome: 'sync-failed', cause: unreachable });
    expect(await reload(report.id)).toMatchObject({ status: 'draft', finalizingBy: null });
  });

  it('a standing claim refuses a second finalize before the sync-server is asked', async () => {
    const { report } = await draftReport({ finalizingBy: resident.userId, finalizingAt: new Date() });
    const { sync, calls } = fakeSync(async () => lockedAt(documentState('x')));

    const result = await finalizeReport(depsWith(sync).deps, { reportId: report.id, principal: attending, stateVector: 'AA==' });

    expect(result).toEqual({ outcome: 'finalize-in-progress', message: 'the report is being finalized' });
    expect(calls.lock).toEqual([]);
    expect((await reload(report.id)).finalizingBy).toBe(resident.userId);
  });

  it('an expired claim is taken over; a document already locked at a state the signer saw is signed as locked', async () => {
    const seen = documentState('Locked by a crashed finalize.');
    const { report } = await draftReport({ finalizingBy: resident.userId, finalizingAt: new Date(Date.now() - 2 * CLAIM_TTL_MS) });
    const { sync, calls } = fakeSync(async () => lockedAt(seen, true));

    const result = await finalizeReport(depsWith(sync).deps, {
      reportId: report.id,
      principal: attending,
      stateVector: seen.stateVector,
      snapshot: seen.snapshot,
    });

    expect(result.outcome).toBe('finalized');
    expect(calls.unlock).toEqual([]);
    expect(await reload(report.id)).toMatchObject({ status: 'final', finalUpdate: seen.update, finalizingBy: null });
  });

  it('a document already locked at a state the signer has not seen is refused, and that lock is not ours to lift', async () => {
    const locked = documentState('Edited after the signer looked.');
    const { report } = await draftReport();
    const { sync, calls } = fakeSync(async () => lockedAt(locked, true));
    const seenNothing = b64(Y.encodeStateVector(new Y.Doc()));

    const result = await finalizeReport(depsWith(sync).deps, { reportId: report.id, principal: attending, stateVector: seenNothing });

    expect(result).toEqual({
      outcome: 'unseen-updates',
      message: 'the document was locked at a state you have not seen',
      stateVector: locked.stateVector,
    });
    expect(calls.unlock).toEqual([]);
    expect(await reload(report.id)).toMatchObject({ status: 'draft', finalizingBy: null });
  });

  it('a failure while storing unlocks the document again and releases the claim, then rethrows', async () => {
    const { report, study } = await draftReport();
    const seen = documentState('x');
    const { sync, calls } = fakeSync(async () => lockedAt(seen));
    const { deps } = depsWith(sync, {
      audit: async () => {
        throw new Error('audit table unavailable');
      },
    });

    await expect(finalizeReport(deps, { reportId: report.id, principal: attending, stateVector: seen.stateVector })).rejects.toThrow(
      'audit table unavailable',
    );

    expect(calls.unlock).toEqual([reportDocumentName(report.id)]);
    expect(await reload(report.id)).toMatchObject({ status: 'draft', finalizingBy: null, contentHash: null, finalSignerId: null });
    expect((await store.loadStudy(study.id)).get('status')).toBe('unread');
  });

  it('a claim lost while the document was locked is a stale outcome, compensated like a failure', async () => {
    const { report } = await draftReport();
    const seen = documentState('x');
    const { sync, calls } = fakeSync(async () => {
      // Another finalize takes the claim over meanwhile.
      await t.app.db.models.Report.update({ finalizingBy: resident.userId }, { where: { id: report.id } });
      return lockedAt(seen);
    });
    const { deps, errors } = depsWith(sync);

    const result = await finalizeReport(deps, { reportId: report.id, principal: attending, stateVector: seen.stateVector });

    expect(result).toEqual({ outcome: 'stale', message: 'the report changed while it was being finalized' });
    expect(calls.unlock).toEqual([reportDocumentName(report.id)]);
    expect(errors).toEqual([]);
    // The other claim is not released by this finalize.
    expect(await reload(report.id)).toMatchObject({ status: 'draft', finalizingBy: resident.userId });
  });

  it('refuses what the state machine refuses, before claiming', async () => {
    const { report } = await draftReport();
    const { sync, calls } = fakeSync(async () => lockedAt(documentState('x')));
    const { deps } = depsWith(sync);

    expect(await finalizeReport(deps, { reportId: report.id, principal: resident, stateVector: 'AA==' })).toEqual({
      outcome: 'transition-refused',
      reason: 'not-allowed-for-role',
      message: "'finalize' from 'draft' is not allowed for resident",
    });
    expect(await finalizeReport(deps, { reportId: randomUUID(), principal: attending, stateVector: 'AA==' })).toEqual({
      outcome: 'not-found',
      message: 'report not found',
    });
    expect(calls.lock).toEqual([]);
    expect((await reload(report.id)).version).toBe(report.version);
  });

  it('an addendum is signed only once its original is final, and then moves the original to addended', async () => {
    const { report: original, study } = await draftReport();
    const addendumId = randomUUID();
    await store.transaction((transaction) =>
      store.createAddendum({ id: addendumId, parent: original, authorId: attending.userId }, transaction),
    );
    const seen = documentState('Addendum text.');
    const { sync } = fakeSync(async () => lockedAt(seen));
    const { deps, audited } = depsWith(sync);
    const input = { reportId: addendumId, principal: attending, stateVector: seen.stateVector };

    expect(await finalizeReport(deps, input)).toEqual({
      outcome: 'transition-refused',
      reason: 'not-allowed-from-state',
      message: 'the original report is not final',
    });

    await t.app.db.models.Report.update({ status: 'final' }, { where: { id: original.id } });
    expect((await finalizeReport(deps, input)).outcome).toBe('finalized');
    expect(audited.at(-1)).toMatchObject({ transition: 'finalize', addendum: true });
    expect((await reload(original.id)).status).toBe('addended');
    // The study follows its primary report only.
    expect((await store.loadStudy(study.id)).get('status')).toBe('unread');
  });
});
