/**
 * The viewer for one study: series panel with thumbnails, one or two stack viewports (the second for
 * another series or a prior of the same patient), linked scrolling, offline controls. Loaded lazily
 * (viewer chunk); embeddable: it fills the box it is given.
 */
import { cache } from '@cornerstonejs/core';
import { annotation } from '@cornerstonejs/tools';
import { type ReactNode, useCallback, useEffect, useMemo, useRef, useState, useSyncExternalStore } from 'react';
import { api, NetworkError } from '../api/client';
import type { StudyDetail, WorklistStudy } from '../api/types';
import { OFFLINE_LIMIT_MS, session } from '../auth/session';
import type { OfflineStudyRow, WorklistDb } from '../device/db';
import { useWorklist, useWorkspace } from '../device/workspace';
import { Link } from '../router';
import { authFetch } from './auth';
import { offlineBudgetBytes } from './config';
import { addInstanceMetadata, initCornerstone, instanceFramePixels, OFFLINE_SCHEME, preloadImage, setOfflineStore } from './cornerstone';
import { dataKey } from './crypto';
import {
  cineFrameRate,
  type DicomJson,
  layoutStudy,
  sameOrientation,
  sliceLocationLabel,
  type ViewerSeries,
  type ViewerStudy,
} from './dicom-json';
import { hasOpenReportDraft, keepAssignedEnabled, keepAssignedOffline, setKeepAssigned } from './offline-policy';
import { METADATA_ACCEPT, type OfflineProgress, OfflineStore } from './offline-store';
import { SeriesThumbnail } from './SeriesThumbnail';
import { StackViewer, type StackViewerHandle, type ViewState } from './StackViewer';
import { actionForKey, type PrimaryTool, type ViewerAction } from './shortcuts';
import { followIndex, makeLink, type StackLink } from './stack-link';
import { installViewerHook } from './test-hook';
import { ViewerToolbar } from './ViewerToolbar';
import './viewer.css';

type Source = 'online' | 'offline';

interface Loaded {
  studyId: string;
  study: ViewerStudy;
  row: WorklistStudy | null;
  source: Source;
}

interface Pane {
  loaded: Loaded;
  seriesUid: string | null;
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
        isProtected: hasOpenReportDraft(db),
        framePixels: instanceFramePixels,
      }),
    [db],
  );
}

async function worklistRow(db: WorklistDb, studyId: string): Promise<WorklistStudy | null> {
  const local = await db.studies.get(studyId);
  if (local) return local;
  const detail = await api.request<StudyDetail>('GET', `/api/studies/${encodeURIComponent(studyId)}`);
  return detail.study;
}

/** A study's metadata from the device when it is complete there (unless `prefer` is online), else WADO-RS. */
async function loadStudy(db: WorklistDb, store: OfflineStore, studyId: string, prefer: Source | null | undefined): Promise<Loaded> {
  await initCornerstone();
  const local = await store.get(studyId);
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
  return { studyId, study, row, source };
}

function imageIdsOf(loaded: Loaded, series: ViewerSeries | undefined): string[] {
  if (!series) return [];
  const scheme = loaded.source === 'offline' ? OFFLINE_SCHEME : 'wadors';
  return series.frames.map((f) => `${scheme}:${window.location.origin}${f.path}`);
}

function paneSeries(pane: Pane | null): ViewerSeries | undefined {
  if (!pane) return undefined;
  return pane.loaded.study.series.find((s) => s.seriesInstanceUid === pane.seriesUid) ?? pane.loaded.study.series[0];
}

/** The series of `study` that best matches `like`: same modality and orientation, else same modality, else the first. */
function matchingSeries(study: ViewerStudy, like: ViewerSeries | undefined): string | null {
  const same = like ? study.series.filter((s) => s.modality === like.modality) : [];
  return (
    (like && same.find((s) => sameOrientation(s, like))?.seriesInstanceUid) ??
    same[0]?.seriesInstanceUid ??
    study.series[0]?.seriesInstanceUid ??
    null
  );
}

/**
 * "Keep my assigned studies offline": the setting and, while it is on and the session online, one
 * background run at a time, again whenever the set of the user's unsigned assigned studies changes.
 */
let keepAssignedRun: Promise<unknown> | null = null;
let keepAssignedAbort: AbortController | null = null;
function useKeepAssigned(store: OfflineStore, db: WorklistDb, userId: string, online: boolean) {
  const [enabled, setEnabled] = useState(keepAssignedEnabled);
  const [status, setStatus] = useState<string | null>(null);
  const [generation, setGeneration] = useState(0);
  const rows = useWorklist().rows;
  const assignedKey = rows
    .filter((r) => r.assignee?.id === userId && r.status !== 'final')
    .map((r) => r.id)
    .sort()
    .join(',');
  const latestKey = useRef(assignedKey);
  latestKey.current = assignedKey;
  const mounted = useRef(true);
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);
  // biome-ignore lint/correctness/useExhaustiveDependencies: assignedKey and generation are the triggers
  useEffect(() => {
    if (!enabled || !online || keepAssignedRun) return;
    const startedFor = latestKey.current;
    keepAssignedAbort = new AbortController();
    keepAssignedRun = keepAssignedOffline(store, db, userId, {
      budgetBytes: offlineBudgetBytes,
      signal: keepAssignedAbort.signal,
      onProgress: (p) => mounted.current && setStatus(`Downloading an assigned study: ${p.doneFrames}/${p.totalFrames} images`),
    })
      .then((result) => {
        if (!mounted.current || !keepAssignedEnabled()) return;
        const parts = [`${result.downloaded.length} assigned stud${result.downloaded.length === 1 ? 'y' : 'ies'} downloaded`];
        if (result.skippedForBudget.length) parts.push(`${result.skippedForBudget.length} left out (offline budget full)`);
        if (result.failed.length) parts.push(`${result.failed.length} failed`);
        setStatus(parts.join(', '));
      })
      .finally(() => {
        keepAssignedRun = null;
        keepAssignedAbort = null;
        // assignments changed while it ran: run again for the new ones
        if (mounted.current && latestKey.current !== startedFor) setGeneration((g) => g + 1);
      });
  }, [enabled, online, store, db, userId, assignedKey, generation]);
  const toggle = (on: boolean) => {
    setKeepAssigned(on);
    setEnabled(on);
    if (!on) {
      keepAssignedAbort?.abort(); // what was stored stays, like a cancelled download
      setStatus(null);
    }
  };
  return { enabled, toggle, status };
}

export function ViewerApp({
  studyId,
  prefer,
  actions,
}: {
  studyId: string;
  prefer?: Source | null;
  /** Links the page adds at the end of the study bar (the viewer page: its report). */
  actions?: ReactNode;
}) {
  const { db, user } = useWorkspace();
  const store = useOfflineStore();
  const sessionState = useSyncExternalStore(session.subscribe, session.get, session.get);
  const online = sessionState.mode === 'online';
  const [panes, setPanes] = useState<[Pane | null, Pane | null]>([null, null]);
  const [problem, setProblem] = useState<string | null>(null);
  const [twoUp, setTwoUp] = useState(false);
  const [active, setActive] = useState(0);
  const [tool, setTool] = useState<PrimaryTool>('WindowLevel');
  const [views, setViews] = useState<[ViewState | null, ViewState | null]>([null, null]);
  const [helpOpen, setHelpOpen] = useState(false);
  const [link, setLink] = useState<StackLink | null>(null);
  const [firstImageShown, setFirstImageShown] = useState(false);
  const [priors, setPriors] = useState<(WorklistStudy & { onDevice: boolean })[]>([]);
  const [priorProblem, setPriorProblem] = useState<string | null>(null);
  const [offline, setOffline] = useState<OfflineStudyRow | null>(null);
  const [progress, setProgress] = useState<OfflineProgress | null>(null);
  const [quota, setQuota] = useState<{ usage: number; quota: number } | null>(null);
  const controller = useRef<AbortController | null>(null);
  const handles = useRef<[StackViewerHandle | null, StackViewerHandle | null]>([null, null]);
  const keepAssigned = useKeepAssigned(store, db, user.id, online);

  useEffect(() => {
    setOfflineStore(store);
  }, [store]);

  const refreshOffline = useCallback(async () => {
    setOffline((await store.get(studyId)) ?? null);
    const estimate = await navigator.storage?.estimate?.().catch(() => null);
    if (estimate?.quota) setQuota({ usage: estimate.usage ?? 0, quota: estimate.quota });
  }, [store, studyId]);

  // The study of the first viewport.
  useEffect(() => {
    let cancelled = false;
    setPanes([null, null]);
    setProblem(null);
    (async () => {
      const loaded = await loadStudy(db, store, studyId, prefer);
      if (cancelled) return;
      // The first image loads while React mounts the viewport and Cornerstone sets it up.
      const first = imageIdsOf(loaded, loaded.study.series[0])[0];
      if (first) preloadImage(first);
      setPanes([{ loaded, seriesUid: loaded.study.series[0]?.seriesInstanceUid ?? null }, null]);
      await refreshOffline();
    })().catch((error: unknown) => {
      if (!cancelled) setProblem((error as Error).message || String(error));
    });
    return () => {
      cancelled = true;
    };
  }, [db, store, studyId, prefer, refreshOffline]);

  const main = panes[0]?.loaded ?? null;

  // Priors: the patient's earlier studies in the device's worklist (matched on patient id), kept current as it syncs.
  const worklistRows = useWorklist().rows;
  useEffect(() => {
    if (!main) return;
    let cancelled = false;
    const patientId = main.row?.patientId ?? main.study.patientId;
    const date = main.row?.studyDate ?? main.study.studyDate;
    const earlier = worklistRows
      .filter((s) => s.patientId === patientId && s.id !== main.studyId && (!date || !s.studyDate || s.studyDate <= date))
      .sort((a, b) => (b.studyDate ?? '').localeCompare(a.studyDate ?? '') || b.receivedAt.localeCompare(a.receivedAt));
    Promise.all(earlier.map(async (s) => ({ ...s, onDevice: (await store.get(s.id))?.state === 'complete' })))
      .then((list) => {
        if (!cancelled) setPriors(list);
      })
      .catch(() => undefined);
    return () => {
      cancelled = true;
    };
  }, [store, main, worklistRows]);

  // Free decoded images and measurements when leaving the study.
  useEffect(
    () => () => {
      annotation.state.removeAllAnnotations();
      cache.purgeCache();
    },
    [],
  );

  const series: [ViewerSeries | undefined, ViewerSeries | undefined] = [paneSeries(panes[0]), twoUp ? paneSeries(panes[1]) : undefined];
  const imageIds0 = useMemo(() => (panes[0] ? imageIdsOf(panes[0].loaded, paneSeries(panes[0])) : []), [panes[0]]);
  const imageIds1 = useMemo(() => (panes[1] ? imageIdsOf(panes[1].loaded, paneSeries(panes[1])) : []), [panes[1]]);

  // Linked scrolling: refs so the viewports' callbacks stay stable.
  const linkRef = useRef(link);
  linkRef.current = link;
  const positions = useRef<[(number | undefined)[], (number | undefined)[]]>([[], []]);
  positions.current = [series[0]?.frames.map((f) => f.position) ?? [], series[1]?.frames.map((f) => f.position) ?? []];
  const lastIndex = useRef<[number, number]>([-1, -1]);
  const pendingFollow = useRef(new Map<number, number>());

  const onViewChange = useCallback((pane: 0 | 1, state: ViewState) => {
    setViews((current) => {
      const previous = current[pane];
      if (previous && JSON.stringify(previous) === JSON.stringify(state)) return current;
      const next: [ViewState | null, ViewState | null] = [...current];
      next[pane] = state;
      return next;
    });
    if (lastIndex.current[pane] === state.index) return;
    lastIndex.current[pane] = state.index;
    if (pendingFollow.current.get(pane) === state.index) {
      pendingFollow.current.delete(pane);
      return;
    }
    const current = linkRef.current;
    const other = pane === 0 ? 1 : 0;
    const follower = handles.current[other];
    if (!current || !follower) return;
    const target = followIndex(current, positions.current[pane], state.index, positions.current[other], pane === 0 ? 1 : -1);
    if (target >= 0 && target !== follower.viewport.getCurrentImageIdIndex()) {
      pendingFollow.current.set(other, target);
      follower.setIndex(target);
    }
  }, []);
  const onView0 = useCallback((state: ViewState) => onViewChange(0, state), [onViewChange]);
  const onView1 = useCallback((state: ViewState) => onViewChange(1, state), [onViewChange]);
  const onReady0 = useCallback((h: StackViewerHandle | null) => {
    handles.current[0] = h;
    if (h) setFirstImageShown(true);
  }, []);
  const onReady1 = useCallback((h: StackViewerHandle | null) => {
    handles.current[1] = h;
  }, []);

  // A different series in either viewport, or one viewport only: the old link no longer means anything.
  const seriesKey = `${series[0]?.seriesInstanceUid}|${series[1]?.seriesInstanceUid}|${panes[1]?.loaded.studyId}|${twoUp}`;
  // biome-ignore lint/correctness/useExhaustiveDependencies: seriesKey is the trigger
  useEffect(() => {
    setLink(null);
    pendingFollow.current.clear();
  }, [seriesKey]);

  const sourceRef = useRef<string | null>(null);
  sourceRef.current = main?.source ?? null;
  useEffect(() => {
    installViewerHook(
      () => sourceRef.current,
      () => handles.current,
    );
  }, []);

  const activePane = twoUp ? active : 0;
  const run = (action: ViewerAction) => handles.current[activePane]?.run(action);
  // Shortcuts anywhere in the viewer (viewports and toolbar), acting on the active viewport. Handled keys
  // stop here so the app shell's own shortcuts (its "?" help) do not fire as well.
  const onKeyDown = (event: React.KeyboardEvent) => {
    const target = event.target as HTMLElement;
    if (event.altKey || event.ctrlKey || event.metaKey || /^(INPUT|SELECT|TEXTAREA)$/.test(target.tagName)) return;
    if (event.key === 'Escape' && helpOpen) {
      setHelpOpen(false);
      event.stopPropagation();
      return;
    }
    const action = actionForKey(event.key, { ct: series[activePane]?.modality === 'CT' });
    if (!action) return;
    event.preventDefault();
    event.stopPropagation();
    if (action.type === 'tool') setTool(action.tool);
    else if (action.type === 'help') setHelpOpen((open) => !open);
    else run(action);
  };

  const showTwoUp = (on: boolean) => {
    if (on && !panes[1] && panes[0]) {
      const { loaded } = panes[0];
      const list = loaded.study.series;
      const at = list.findIndex((s) => s.seriesInstanceUid === series[0]?.seriesInstanceUid);
      const next = list[at + 1] ?? list[at] ?? list[0];
      setPanes([panes[0], { loaded, seriesUid: next?.seriesInstanceUid ?? null }]);
    }
    setTwoUp(on);
    setActive(on ? 1 : 0);
  };

  const openPrior = async (prior: WorklistStudy) => {
    setPriorProblem(null);
    try {
      const loaded = await loadStudy(db, store, prior.id, null);
      setPanes((current) => [current[0], { loaded, seriesUid: matchingSeries(loaded.study, paneSeries(current[0])) }]);
      setTwoUp(true);
      setActive(1);
    } catch (error) {
      setPriorProblem((error as Error).message || String(error));
    }
  };

  const chooseSeries = (uid: string) => {
    setPanes((current) => {
      const next: [Pane | null, Pane | null] = [...current];
      const pane = next[activePane];
      if (pane) next[activePane] = { ...pane, seriesUid: uid };
      return next;
    });
  };

  const toggleLink = () => {
    if (link) {
      setLink(null);
      return;
    }
    const [a, b] = handles.current;
    if (!a || !b) return;
    setLink(makeLink(positions.current[0], a.viewport.getCurrentImageIdIndex(), positions.current[1], b.viewport.getCurrentImageIdIndex()));
    lastIndex.current = [a.viewport.getCurrentImageIdIndex(), b.viewport.getCurrentImageIdIndex()];
  };
  const linkUnavailable =
    !series[0] || !series[1]
      ? 'Open a series in both viewports first'
      : !sameOrientation(series[0], series[1])
        ? 'Scroll can be linked only between series of the same orientation'
        : null;

  const makeOffline = async () => {
    if (!main?.row) return;
    controller.current?.abort();
    const abort = new AbortController();
    controller.current = abort;
    const { row } = main;
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
  if (!main || !panes[0])
    return (
      <section className="page" aria-labelledby="viewer-title">
        <h1 id="viewer-title">Viewer</h1>
        <p role="status">Loading the study…</p>
      </section>
    );

  const { study, row, source } = main;
  const shown = progress && progress.studyId === studyId ? progress : offline;
  const downloading = store.isDownloading(studyId);
  const panelPane = panes[activePane] ?? panes[0];
  const panelSeries = series[activePane] ?? series[0];
  const overlayFor = (pane: Pane, s: ViewerSeries | undefined) => ({
    patient: pane.loaded.study.patientName,
    patientId: pane.loaded.study.patientId,
    study: pane.loaded.study.studyDescription,
    studyDate: pane.loaded.study.studyDate,
    series: s ? `#${s.seriesNumber ?? '–'} ${s.description}` : '',
  });
  const viewerFor = (index: 0 | 1) => {
    const pane = panes[index];
    const s = series[index];
    if (!pane) return null;
    return (
      <StackViewer
        key={`${index}:${pane.loaded.studyId}`}
        pane={index}
        imageIds={index === 0 ? imageIds0 : imageIds1}
        frameRate={s?.frames[0] ? cineFrameRate(s.frames[0].instance) : 10}
        sliceLabels={
          s?.frames.map((f) => (f.frame === 1 && s.frames.length === s.imageCount ? sliceLocationLabel(f.instance) : `frame ${f.frame}`)) ??
          []
        }
        tool={tool}
        active={twoUp && active === index}
        onActivate={() => setActive(index)}
        sourceLabel={pane.loaded.source}
        onReady={index === 0 ? onReady0 : onReady1}
        onViewChange={index === 0 ? onView0 : onView1}
        overlay={overlayFor(pane, s)}
      />
    );
  };

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
            {online && (
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
        ) : online && row ? (
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
        <KeepAssignedToggle {...keepAssigned} />
        {actions}
      </div>
      <div className="viewer">
        <nav aria-label="Series" className="viewer-side">
          {twoUp && (
            <p className="muted viewer-side-title">
              Viewport {activePane + 1}:{' '}
              {panelPane?.loaded.studyId === studyId ? 'this study' : `prior ${formatDate(panelPane?.loaded.study.studyDate ?? '')}`}
            </p>
          )}
          <ul className="viewer-series">
            {panelPane?.loaded.study.series.map((s) => {
              const middle = s.frames[Math.floor(s.frames.length / 2)];
              const scheme = panelPane.loaded.source === 'offline' ? OFFLINE_SCHEME : 'wadors';
              return (
                <li key={s.seriesInstanceUid}>
                  <button
                    type="button"
                    aria-pressed={s.seriesInstanceUid === panelSeries?.seriesInstanceUid}
                    onClick={() => chooseSeries(s.seriesInstanceUid)}
                  >
                    <SeriesThumbnail
                      imageId={middle ? `${scheme}:${window.location.origin}${middle.path}` : null}
                      enabled={firstImageShown}
                    />
                    <span>
                      <strong>
                        {s.modality} #{s.seriesNumber ?? '–'}
                      </strong>{' '}
                      {s.description || '(no description)'}
                      <br />
                      <span className="count">
                        {s.imageCount} image{s.imageCount === 1 ? '' : 's'}
                        {s.frames.length !== s.imageCount ? ` · ${s.frames.length} frames` : ''}
                      </span>
                      {panelPane.loaded.source === 'offline' && <span className="badge">offline</span>}
                    </span>
                  </button>
                </li>
              );
            })}
          </ul>
          <h2 className="viewer-side-title">Earlier studies</h2>
          {priors.length === 0 ? (
            <p className="muted">None in the worklist on this device.</p>
          ) : (
            <ul className="viewer-priors" aria-label="Earlier studies of this patient">
              {priors.map((p) => {
                const unreachable = !online && !p.onDevice;
                return (
                  <li key={p.id}>
                    <span>
                      {formatDate(p.studyDate ?? '')} {p.modalities.join('/')} {p.description}
                      {p.onDevice && <span className="badge">offline</span>}
                    </span>
                    <button
                      type="button"
                      disabled={unreachable}
                      aria-pressed={panes[1]?.loaded.studyId === p.id && twoUp}
                      onClick={() => openPrior(p)}
                      title={unreachable ? 'Not on this device and the network is unreachable' : 'Open beside the current study'}
                    >
                      Compare
                    </button>
                  </li>
                );
              })}
            </ul>
          )}
          {priorProblem && <p role="alert">{priorProblem}</p>}
        </nav>
        {/* biome-ignore lint/a11y/noStaticElementInteractions: keyboard shortcuts bubble up from the viewports and the toolbar */}
        <div className="viewer-main" onKeyDown={onKeyDown}>
          <ViewerToolbar
            tool={tool}
            onTool={setTool}
            view={views[activePane] ?? null}
            modality={series[activePane]?.modality ?? ''}
            run={run}
            onClearMeasurements={() => handles.current[activePane]?.clearMeasurements()}
            twoUp={twoUp}
            onTwoUp={showTwoUp}
            link={{ on: !!link, toggle: toggleLink, unavailable: linkUnavailable }}
            helpOpen={helpOpen}
            onHelp={setHelpOpen}
          />
          <div className={`viewer-panes${twoUp ? ' two' : ''}`}>
            {viewerFor(0)}
            {twoUp && viewerFor(1)}
          </div>
        </div>
      </div>
    </section>
  );
}

function KeepAssignedToggle({ enabled, toggle, status }: { enabled: boolean; toggle: (on: boolean) => void; status: string | null }) {
  return (
    <span className="viewer-keep">
      <label className="checkbox">
        <input type="checkbox" checked={enabled} onChange={(event) => toggle(event.target.checked)} /> Keep my assigned studies offline
      </label>
      {status && (
        <span className="muted" data-testid="keep-assigned-status">
          {status}
        </span>
      )}
    </span>
  );
}

/** Studies on this device (the viewer's start page). */
export function OfflineStudies() {
  const { db, user } = useWorkspace();
  const store = useOfflineStore();
  const sessionState = useSyncExternalStore(session.subscribe, session.get, session.get);
  const keepAssigned = useKeepAssigned(store, db, user.id, sessionState.mode === 'online');
  const [rows, setRows] = useState<OfflineStudyRow[] | null>(null);
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new keep-assigned status means the list may have changed
  useEffect(() => {
    void store.list().then(setRows);
  }, [store, keepAssigned.status]);
  if (!rows) return null;
  return (
    <>
      <p>
        <KeepAssignedToggle {...keepAssigned} />
      </p>
      {rows.length === 0 ? (
        <p className="muted">No studies on this device. Open a study from the worklist and choose “Make available offline”.</p>
      ) : (
        <ul>
          {rows.map((r) => (
            <li key={r.id}>
              <Link href={`/viewer/${r.id}`}>{r.label || r.studyInstanceUid}</Link> —{' '}
              {r.state === 'complete' ? 'available offline' : `${r.doneFrames}/${r.totalFrames} images (incomplete)`} ·{' '}
              {formatBytes(r.bytes)}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

function formatDate(value: string): string {
  return /^\d{8}$/.test(value) ? `${value.slice(0, 4)}-${value.slice(4, 6)}-${value.slice(6)}` : value;
}

function formatBytes(bytes: number): string {
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GB`;
}
