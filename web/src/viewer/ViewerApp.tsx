/** The viewer for one study: series panel, stack viewport, offline controls. Loaded lazily (viewer chunk). */
import { cache, type StackViewport, type Types, utilities } from '@cornerstonejs/core';
import { annotation } from '@cornerstonejs/tools';
import { useCallback, useEffect, useMemo, useRef, useState, useSyncExternalStore } from 'react';
import { api, NetworkError } from '../api/client';
import type { StudyDetail, WorklistStudy } from '../api/types';
import { OFFLINE_LIMIT_MS, session } from '../auth/session';
import type { OfflineStudyRow } from '../db/db';
import { Link } from '../router';
import { useWorkspace } from '../workspace';
import { authFetch } from './auth';
import { offlineBudgetBytes } from './config';
import { addInstanceMetadata, initCornerstone, OFFLINE_SCHEME, setOfflineStore } from './cornerstone';
import { dataKey } from './crypto';
import { type DicomJson, layoutStudy, type ViewerStudy } from './dicom-json';
import { METADATA_ACCEPT, type OfflineProgress, OfflineStore } from './offline-store';
import { imageToPage, StackViewer, type StackViewerHandle } from './StackViewer';
import './viewer.css';

type Source = 'online' | 'offline';

interface Loaded {
  study: ViewerStudy;
  row: WorklistStudy | null;
  source: Source;
}

export function useOfflineStore(): OfflineStore {
  const { db } = useWorkspace();
  return useMemo(
    () =>
      new OfflineStore(db, authFetch, {
        key: () => {
          const { verifiedAt, mode } = session.get();
          // Online: the key lives for the offline limit from now; offline: until the limit of the last confirmation.
          const base = mode === 'online' ? Date.now() : Date.parse(verifiedAt ?? '') || 0;
          return dataKey(db, base + OFFLINE_LIMIT_MS);
        },
        budgetBytes: offlineBudgetBytes,
      }),
    [db],
  );
}

async function worklistRow(db: ReturnType<typeof useWorkspace>['db'], studyId: string): Promise<WorklistStudy | null> {
  const local = await db.studies.get(studyId);
  if (local) return local;
  const detail = await api.request<StudyDetail>('GET', `/api/studies/${encodeURIComponent(studyId)}`);
  return detail.study;
}

export function ViewerApp({ studyId, prefer }: { studyId: string; prefer?: Source | null }) {
  const { db } = useWorkspace();
  const store = useOfflineStore();
  const sessionState = useSyncExternalStore(session.subscribe, session.get, session.get);
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [seriesUid, setSeriesUid] = useState<string | null>(null);
  const [offline, setOffline] = useState<OfflineStudyRow | null>(null);
  const [progress, setProgress] = useState<OfflineProgress | null>(null);
  const [quota, setQuota] = useState<{ usage: number; quota: number } | null>(null);
  const controller = useRef<AbortController | null>(null);
  const handle = useRef<StackViewerHandle | null>(null);

  useEffect(() => {
    setOfflineStore(store);
  }, [store]);

  const refreshOffline = useCallback(async () => {
    setOffline((await store.get(studyId)) ?? null);
    const estimate = await navigator.storage?.estimate?.().catch(() => null);
    if (estimate?.quota) setQuota({ usage: estimate.usage ?? 0, quota: estimate.quota });
  }, [store, studyId]);

  // Load the study: from the device when it is complete there (unless ?source=online), else WADO-RS.
  useEffect(() => {
    let cancelled = false;
    setLoaded(null);
    setProblem(null);
    (async () => {
      await initCornerstone();
      const local = await store.get(studyId);
      await refreshOffline();
      let instances: DicomJson[];
      let row: WorklistStudy | null = null;
      let source: Source;
      if (local?.state === 'complete' && prefer !== 'online') {
        const content = await store.open<WorklistStudy | null>(studyId);
        instances = content?.instances ?? [];
        row = content?.extra ?? null;
        source = 'offline';
      } else {
        try {
          row = await worklistRow(db, studyId);
          if (!row) throw new Error('unknown study');
          const response = await authFetch(`/dicom-web/studies/${row.studyInstanceUid}/metadata`, { accept: METADATA_ACCEPT });
          if (response.status === 404) throw new Error('The archive has no images for this study yet.');
          if (!response.ok) throw new Error(`The archive answered HTTP ${response.status}.`);
          instances = (await response.json()) as DicomJson[];
          source = 'online';
        } catch (error) {
          if (error instanceof NetworkError || error instanceof TypeError) {
            throw new Error(
              local
                ? 'This study is only partly on this device (download not finished) and the network is unreachable.'
                : 'This study is not on this device and the network is unreachable. Make studies available offline before you go offline.',
            );
          }
          throw error;
        }
      }
      const study = layoutStudy(instances);
      const origin = window.location.origin;
      for (const series of study.series)
        for (const frame of series.frames) if (frame.frame === 1) addInstanceMetadata(`${origin}${frame.path}`, frame.instance);
      if (cancelled) return;
      setLoaded({ study, row, source });
      setSeriesUid((current) => current ?? study.series[0]?.seriesInstanceUid ?? null);
    })().catch((error: unknown) => {
      if (!cancelled) setProblem((error as Error).message || String(error));
    });
    return () => {
      cancelled = true;
    };
  }, [db, store, studyId, prefer, refreshOffline]);

  // Free decoded images and measurements when leaving the study.
  useEffect(
    () => () => {
      annotation.state.removeAllAnnotations();
      cache.purgeCache();
    },
    [],
  );

  const series = loaded?.study.series.find((s) => s.seriesInstanceUid === seriesUid) ?? loaded?.study.series[0];
  const imageIds = useMemo(() => {
    if (!series || !loaded) return [];
    const scheme = loaded.source === 'offline' ? OFFLINE_SCHEME : 'wadors';
    return series.frames.map((f) => `${scheme}:${window.location.origin}${f.path}`);
  }, [series, loaded]);

  const onReady = useCallback((h: StackViewerHandle | null) => {
    handle.current = h;
  }, []);

  // Read-only hook for the e2e suite and benchmarks.
  useEffect(() => {
    const hook = {
      source: () => loaded?.source ?? null,
      state: () => {
        const vp = handle.current?.viewport as StackViewport | undefined;
        if (!vp) return null;
        const range = vp.getProperties().voiRange;
        const all = annotation.state.getAllAnnotations() as {
          metadata?: { toolName?: string };
          data?: { cachedStats?: Record<string, { length?: number }>; handles?: { points?: Types.Point3[] } };
        }[];
        const measured = all.filter((a) => a.metadata?.toolName === 'Length');
        const lengths = measured.map((a) => Object.values(a.data?.cachedStats ?? {})[0]?.length ?? Number.NaN);
        const lengthPoints = measured.map((a) =>
          (a.data?.handles?.points ?? []).map((p) => utilities.worldToImageCoords(vp.getCurrentImageId(), p)),
        );
        const pixelSpacing = (vp.getImageData()?.spacing ?? []).slice(0, 2);
        return {
          index: vp.getCurrentImageIdIndex(),
          count: vp.getImageIds().length,
          imageId: vp.getCurrentImageId(),
          voi: range ? { lower: range.lower, upper: range.upper } : null,
          lengths,
          lengthPoints,
          pixelSpacing,
          dimensions: vp.getImageData()?.dimensions ?? null,
        };
      },
      imageToPage: (x: number, y: number) => (handle.current ? imageToPage(handle.current, x, y) : null),
      scalarHash: () => {
        const data = handle.current?.viewport.getImageData()?.scalarData as ArrayLike<number> | undefined;
        if (!data) return null;
        let hash = 2166136261;
        for (let i = 0; i < data.length; i++) hash = Math.imul(hash ^ (data[i]! & 0xffff), 16777619) >>> 0;
        return { hash, length: data.length };
      },
      canvasStats: () => {
        const canvas = handle.current?.element.querySelector('canvas');
        if (!canvas) return null;
        const copy = document.createElement('canvas');
        copy.width = canvas.width;
        copy.height = canvas.height;
        const ctx = copy.getContext('2d');
        if (!ctx) return null;
        ctx.drawImage(canvas, 0, 0);
        const { data } = ctx.getImageData(0, 0, copy.width, copy.height);
        let nonBlack = 0;
        let hash = 2166136261;
        const levels = new Set<number>();
        for (let i = 0; i < data.length; i += 4) {
          const v = data[i]!;
          if (v > 8 || data[i + 1]! > 8 || data[i + 2]! > 8) nonBlack++;
          levels.add(v);
          hash = Math.imul(hash ^ v, 16777619) >>> 0;
        }
        return { width: copy.width, height: copy.height, nonBlackFraction: nonBlack / (data.length / 4), levels: levels.size, hash };
      },
    };
    (window as unknown as { __pacsViewer?: typeof hook }).__pacsViewer = hook;
  }, [loaded]);

  const makeOffline = async () => {
    if (!loaded?.row) return;
    controller.current?.abort();
    const abort = new AbortController();
    controller.current = abort;
    const { row } = loaded;
    try {
      await store.download(
        {
          id: studyId,
          studyInstanceUid: row.studyInstanceUid,
          label: `${row.modalities.join('/')} · ${row.studyDate ?? ''}`,
          extra: row,
        },
        { signal: abort.signal, onProgress: setProgress },
      );
    } catch (error) {
      setProgress((p) => (p ? { ...p, state: 'paused', error: (error as Error).message } : p));
    } finally {
      if (controller.current === abort) controller.current = null;
      await refreshOffline();
    }
  };
  const cancel = () => controller.current?.abort();
  const remove = async () => {
    controller.current?.abort();
    await store.remove(studyId);
    setProgress(null);
    await refreshOffline();
  };

  if (problem)
    return (
      <section className="page" aria-labelledby="viewer-title">
        <h1 id="viewer-title">Viewer</h1>
        <p role="alert">{problem}</p>
        <p>
          <Link href="/viewer">Studies on this device</Link> · <Link href="/worklist">Worklist</Link>
        </p>
      </section>
    );
  if (!loaded)
    return (
      <section className="page" aria-labelledby="viewer-title">
        <h1 id="viewer-title">Viewer</h1>
        <p role="status">Loading the study…</p>
      </section>
    );

  const { study, row, source } = loaded;
  const shown = progress && progress.studyId === studyId ? progress : offline;
  const downloading = store.isDownloading(studyId);
  return (
    <section className="page" aria-labelledby="viewer-title">
      <h1 id="viewer-title" className="sr-only">
        Viewer: {study.patientName} {study.studyDescription}
      </h1>
      <div className="viewer-offline" aria-live="polite">
        <span data-testid="source">{source === 'offline' ? 'Opened from this device' : 'Streaming from the archive'}</span>
        {shown?.state === 'complete' ? (
          <>
            <strong data-testid="offline-state">Available offline</strong>
            <span className="muted">{formatBytes(shown.bytes)}</span>
            {sessionState.mode === 'online' && (
              <button type="button" onClick={remove}>
                Remove from device
              </button>
            )}
          </>
        ) : downloading ? (
          <>
            <progress max={shown?.totalFrames || 1} value={shown?.doneFrames ?? 0} aria-label="Offline download" />
            <span data-testid="offline-state">
              {shown?.doneFrames ?? 0}/{shown?.totalFrames ?? '…'} images · {formatBytes(shown?.bytes ?? 0)}
            </span>
            <button type="button" onClick={cancel}>
              Cancel download
            </button>
          </>
        ) : sessionState.mode === 'online' && row ? (
          <>
            <button type="button" onClick={makeOffline}>
              {shown ? 'Resume offline download' : 'Make available offline'}
            </button>
            {shown && (
              <span data-testid="offline-state">
                Paused at {shown.doneFrames}/{shown.totalFrames} images{shown.error ? ` (${shown.error})` : ''}
              </span>
            )}
            {shown && (
              <button type="button" onClick={remove}>
                Remove from device
              </button>
            )}
          </>
        ) : null}
        {quota && (
          <span className="muted">
            Device storage: {formatBytes(quota.usage)} of {formatBytes(quota.quota)}
          </span>
        )}
      </div>
      <div className="viewer">
        <nav aria-label="Series">
          <ul className="viewer-series">
            {study.series.map((s) => (
              <li key={s.seriesInstanceUid}>
                <button
                  type="button"
                  aria-pressed={s.seriesInstanceUid === series?.seriesInstanceUid}
                  onClick={() => setSeriesUid(s.seriesInstanceUid)}
                >
                  <strong>
                    {s.modality} #{s.seriesNumber ?? '–'}
                  </strong>{' '}
                  {s.description || '(no description)'}
                  <br />
                  <span className="count">
                    {s.imageCount} image{s.imageCount === 1 ? '' : 's'}
                    {s.frames.length !== s.imageCount ? ` · ${s.frames.length} frames` : ''}
                    {source === 'offline' ? ' · offline' : ''}
                  </span>
                </button>
              </li>
            ))}
          </ul>
        </nav>
        <StackViewer
          imageIds={imageIds}
          modality={series?.modality ?? ''}
          sourceLabel={source}
          onReady={onReady}
          overlay={{
            patient: study.patientName,
            patientId: study.patientId,
            study: study.studyDescription,
            studyDate: study.studyDate,
            series: series ? `#${series.seriesNumber ?? '–'} ${series.description}` : '',
          }}
        />
      </div>
    </section>
  );
}

/** Studies on this device (the viewer's start page). */
export function OfflineStudies() {
  const store = useOfflineStore();
  const [rows, setRows] = useState<OfflineStudyRow[] | null>(null);
  useEffect(() => {
    void store.list().then(setRows);
  }, [store]);
  if (!rows) return null;
  if (rows.length === 0)
    return <p className="muted">No studies on this device. Open a study from the worklist and choose “Make available offline”.</p>;
  return (
    <ul>
      {rows.map((r) => (
        <li key={r.id}>
          <Link href={`/viewer/${r.id}`}>{r.label || r.studyInstanceUid}</Link> —{' '}
          {r.state === 'complete' ? 'available offline' : `${r.doneFrames}/${r.totalFrames} images (incomplete)`} · {formatBytes(r.bytes)}
        </li>
      ))}
    </ul>
  );
}

function formatBytes(bytes: number): string {
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GB`;
}
