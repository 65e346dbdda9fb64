/**
 * The page's side of starting a report offline (offline-start.ts): keeps the template list while
 * online, starts the report on the device, and once online asks the server to adopt it, or merges
 * what was typed into the report someone else started meanwhile and says so.
 */
import type { WorklistStudy } from '@pacs/shared';
import { fromBase64 } from '@pacs/shared/report-document';
import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError, NetworkError } from '../api/client';
import { useWorkspace } from '../device/workspace';
import { type AwarenessUser, ReportConnection } from './connection';
import {
  dropDeviceCopy,
  mergeOfflineDraft,
  type PendingStart,
  planOfflineStart,
  readDeviceCopy,
  rememberedTemplates,
  rememberTemplates,
  storeSeed,
  typedBeyondSeed,
} from './offline-start';
import { adoptOfflineReport, fetchStudyReport, fetchTemplates, openSession, type Report } from './report-api';

export const MERGED_NOTICE =
  'Another report was started on this study while you were offline. What you typed offline was added to it, each line marked "(offline draft)".';
export const NOTHING_TO_MERGE_NOTICE =
  'Another report was started on this study while you were offline. Nothing had been typed into yours beyond the template, so this one is shown.';
const NOT_WRITABLE = 'The report started meanwhile is not open for your changes: your offline draft stays on this device.';

/** Resolves when `test()` holds for the connection, or false after `ms`. */
function until(connection: ReportConnection, test: () => boolean, ms: number): Promise<boolean> {
  if (test()) return Promise.resolve(true);
  return new Promise((resolve) => {
    const finish = (value: boolean) => {
      clearTimeout(timer);
      unsubscribe();
      resolve(value);
    };
    const timer = setTimeout(() => finish(test()), ms);
    const unsubscribe = connection.subscribe(() => {
      if (test()) finish(true);
    });
  });
}

export interface OfflineStartState {
  /** The report started on this device and not yet on the server (null: none). */
  pendingId: string | null;
  /** The device has what an offline start needs (the template list). */
  canStartOffline: boolean;
  start(): Promise<Report>;
  /** Online: hands the pending report to the server. The report to show; undefined: try later; null: nothing pending. */
  adopt(): Promise<Report | null | undefined>;
  notice: string | null;
}

export function useOfflineStart(
  studyId: string,
  study: Pick<WorklistStudy, 'id' | 'modalities' | 'bodyPart' | 'indication'> | null | undefined,
  online: boolean,
  announced: AwarenessUser,
): OfflineStartState {
  const { user, db, vault } = useWorkspace();
  const [pending, setPending] = useState<{ id: string; start: PendingStart } | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [templatesKept, setTemplatesKept] = useState(() => rememberedTemplates() !== null);
  const adopting = useRef<Promise<Report | null | undefined> | null>(null);

  useEffect(() => {
    let current = true;
    void db.sealed.reports.get(studyId).then((cached) => {
      if (current && cached?.pendingStart) setPending({ id: (cached.report as Report).id, start: cached.pendingStart });
    });
    return () => {
      current = false;
    };
  }, [db, studyId]);

  useEffect(() => {
    if (!online) return;
    void fetchTemplates()
      .then((templates) => {
        rememberTemplates(templates);
        setTemplatesKept(true);
      })
      .catch(() => undefined);
  }, [online]);

  const start = useCallback(async () => {
    const templates = rememberedTemplates();
    if (!study || !templates) throw new Error('This device has no report templates yet: start the report once online.');
    const plan = planOfflineStart(study, templates, user.id);
    await storeSeed(user.id, plan.report.id, vault.dataKey(), plan.seed);
    await db.sealed.reports.put({ studyId, report: plan.report, pendingStart: plan.pending });
    setPending({ id: plan.report.id, start: plan.pending });
    return plan.report;
  }, [db, study, studyId, user.id, vault]);

  /** Writes what was typed offline into the report started elsewhere, through this user's own connection. */
  const mergeInto = useCallback(
    async (existing: Report, offlineId: string, seed: string): Promise<number> => {
      const local = await readDeviceCopy(user.id, offlineId, vault.dataKey());
      const additions = typedBeyondSeed(local, fromBase64(seed));
      local.destroy();
      if (additions.length === 0) return 0;
      // Asked first, so a user who may only read that report opens no connection to it.
      if ((await openSession(existing.id)).mode !== 'rw') throw new Error(NOT_WRITABLE);
      const connection = new ReportConnection({
        reportId: existing.id,
        userId: user.id,
        user: announced,
        openSession,
        dataKey: vault.dataKey(),
      });
      try {
        void connection.start();
        const ready = () => connection.provider?.synced === true && connection.get().mode !== null;
        if (!(await until(connection, ready, 20_000))) throw new NetworkError('the report could not be opened');
        if (connection.get().mode !== 'rw') throw new Error(NOT_WRITABLE);
        mergeOfflineDraft(connection.doc, additions);
        // On this device at once (the report's own copy); on the server as soon as the link allows.
        await connection.persistence.flushed();
        await until(connection, () => connection.settled, 10_000);
      } finally {
        connection.destroy();
      }
      return additions.length;
    },
    [announced, user.id, vault],
  );

  const adopt = useCallback((): Promise<Report | null | undefined> => {
    // One adoption at a time: the poll and a reconnect may both ask.
    adopting.current ??= (async () => {
      // The device's record is the truth (the page may ask before its state has loaded).
      const cached = await db.sealed.reports.get(studyId);
      if (!cached?.pendingStart) return null;
      const id = (cached.report as Report).id;
      const { pendingStart } = cached;
      try {
        const report = await adoptOfflineReport(studyId, { id, ...pendingStart });
        setPending(null);
        return report;
      } catch (error) {
        if (!(error instanceof ApiError && error.code === 'REPORT_EXISTS')) throw error;
        const existing = await fetchStudyReport(studyId);
        if (!existing) return undefined;
        const merged = await mergeInto(existing, id, pendingStart.seed);
        // The merged text is in the other report now (on this device at least): only then the draft goes.
        await db.sealed.reports.put({ studyId, report: existing });
        await dropDeviceCopy(user.id, id).catch(() => undefined);
        setPending(null);
        setNotice(merged > 0 ? MERGED_NOTICE : NOTHING_TO_MERGE_NOTICE);
        return existing;
      }
    })().finally(() => {
      adopting.current = null;
    });
    return adopting.current;
  }, [db, mergeInto, studyId, user.id]);

  return { pendingId: pending?.id ?? null, canStartOffline: templatesKept && !!study, start, adopt, notice };
}
