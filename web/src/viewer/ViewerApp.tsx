/**
 * The viewer for one study: series panel with thumbnails, one or two stack viewports (the second for
 * another series or a prior of the same patient), linked scrolling, offline controls. Loaded lazily
 * (viewer chunk); embeddable: it fills the box it is given. This module wires the parts together:
 * use-study (what each viewport shows), use-pane-layout, use-priors, use-linked-scroll,
 * use-shortcuts, use-keep-assigned, and the OfflinePanel, SeriesPanel and ViewerToolbar components.
 */
import { cache } from '@cornerstonejs/core';
import { annotation } from '@cornerstonejs/tools';
import type { ViewerTarget } from '@pacs/shared';
import { type ReactNode, useCallback, useEffect, useMemo, useRef, useState, useSyncExternalStore } from 'react';
import { session } from '../auth/session';
import { useOfflineRead } from '../device/use-offline-read';
import { useWorkspace } from '../device/workspace';
import { MeasurementPanel } from '../measurements/MeasurementPanel';
import { useJumpTo } from '../measurements/use-jump-to';
import { useMeasurements } from '../measurements/use-measurements';
import { Link } from '../router';
import { StudyIndication } from '../worklist/StudyIndication';
import { cineFrameRate, sliceLocationLabel, type ViewerSeries } from './dicom-json';
import { OfflinePanel } from './OfflinePanel';
import { SeriesPanel } from './SeriesPanel';
import { StackViewer, type StackViewerHandle, type ViewState } from './StackViewer';
import type { ViewerAction } from './shortcuts';
import { installViewerHook } from './test-hook';
import { useKeepAssigned } from './use-keep-assigned';
import { useLinkedScroll, type ViewportHandles } from './use-linked-scroll';
import { useOfflineStudies } from './use-offline-studies';
import { usePaneLayout } from './use-pane-layout';
import { usePriors } from './use-priors';
import { useShortcuts } from './use-shortcuts';
import { imageIdsOf, type Pane, paneSeries, type Source, useStudy } from './use-study';
import { ViewerToolbar } from './ViewerToolbar';
import './viewer.css';

export function ViewerApp({
  studyId,
  prefer,
  actions,
  target,
}: {
  studyId: string;
  prefer?: Source | null;
  /** Open at this image (and show this measurement): a link from a report. */
  target?: ViewerTarget | null;
  /** Links the page adds at the end of the study bar (the viewer page: its report). */
  actions?: ReactNode;
}) {
  const { db, user } = useWorkspace();
  const offlineStudies = useOfflineStudies();
  const sessionState = useSyncExternalStore(session.subscribe, session.get, session.get);
  const online = sessionState.mode === 'online';
  const keepAssigned = useKeepAssigned(offlineStudies, db, user.id, online);
  const { panes, setPanes, main, problem } = useStudy(offlineStudies, studyId, prefer, target?.seriesInstanceUid);
  const layout = usePaneLayout(panes, setPanes);
  const { activePane, series, twoUp } = layout;
  const priors = usePriors(offlineStudies, main, layout.openBeside);
  const [views, setViews] = useState<[ViewState | null, ViewState | null]>([null, null]);
  const [firstImageShown, setFirstImageShown] = useState(false);
  const handles = useRef<ViewportHandles>([null, null]);
  const [readyTick, setReadyTick] = useState(0);
  const currentHandles = useCallback(() => handles.current, []);
  useOfflineRead(main ? { event: 'study-open', studyId } : null);
  const shownSeries = series[activePane]?.seriesInstanceUid;
  useOfflineRead(main && shownSeries ? { event: 'series-view', studyId, seriesInstanceUid: shownSeries } : null);

  // Free decoded images and measurements when leaving the study.
  useEffect(
    () => () => {
      annotation.state.removeAllAnnotations();
      cache.purgeCache();
    },
    [],
  );

  const imageIds0 = useMemo(() => (panes[0] ? imageIdsOf(panes[0].loaded, paneSeries(panes[0])) : []), [panes[0]]);
  const imageIds1 = useMemo(() => (panes[1] ? imageIdsOf(panes[1].loaded, paneSeries(panes[1])) : []), [panes[1]]);

  // A different series in either viewport, or one viewport only: the old link no longer means anything.
  const showing = `${series[0]?.seriesInstanceUid}|${series[1]?.seriesInstanceUid}|${panes[1]?.loaded.studyId}|${twoUp}`;
  const link = useLinkedScroll(series, handles, showing);
  const { follow } = link;

  const onViewChange = useCallback(
    (pane: 0 | 1, state: ViewState) => {
      setViews((current) => {
        const previous = current[pane];
        if (previous && JSON.stringify(previous) === JSON.stringify(state)) return current;
        const next: [ViewState | null, ViewState | null] = [...current];
        next[pane] = state;
        return next;
      });
      follow(pane, state.index);
    },
    [follow],
  );
  // The first view change is the first image drawn: the thumbnails wait for it, not for the image's load.
  const onView0 = useCallback(
    (state: ViewState) => {
      setFirstImageShown(true);
      onViewChange(0, state);
    },
    [onViewChange],
  );
  const onView1 = useCallback((state: ViewState) => onViewChange(1, state), [onViewChange]);
  const onReady0 = useCallback((h: StackViewerHandle | null) => {
    handles.current[0] = h;
    setReadyTick((n) => n + 1);
  }, []);
  const onReady1 = useCallback((h: StackViewerHandle | null) => {
    handles.current[1] = h;
    setReadyTick((n) => n + 1);
  }, []);
  const measurements = useMeasurements(studyId, main?.study.studyInstanceUid ?? null, currentHandles, readyTick);
  useJumpTo(target, currentHandles, readyTick);

  const sourceRef = useRef<string | null>(null);
  sourceRef.current = main?.source ?? null;
  useEffect(() => {
    installViewerHook(
      () => sourceRef.current,
      () => handles.current,
    );
  }, []);

  const run = (action: ViewerAction) => handles.current[activePane]?.run(action);
  // Shortcuts anywhere in the viewer (viewports and toolbar), acting on the active viewport.
  const shortcuts = useShortcuts({ ct: series[activePane]?.modality === 'CT', run });

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

  const { study } = main;
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
        tool={shortcuts.tool}
        active={twoUp && layout.active === index}
        onActivate={() => layout.setActive(index)}
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
      <StudyIndication indication={main.row?.indication} />
      <OfflinePanel
        offlineStudies={offlineStudies}
        studyId={studyId}
        row={main.row}
        source={main.source}
        online={online}
        keepAssigned={keepAssigned}
        actions={actions}
      />
      <div className="viewer">
        <SeriesPanel
          studyId={studyId}
          twoUp={twoUp}
          activePane={activePane}
          pane={panes[activePane] ?? panes[0]}
          selected={series[activePane] ?? series[0]}
          thumbnails={firstImageShown}
          onChoose={layout.chooseSeries}
          priors={priors.priors}
          comparing={panes[1]?.loaded.studyId ?? null}
          online={online}
          onCompare={priors.open}
          priorProblem={priors.problem}
        />
        {/* biome-ignore lint/a11y/noStaticElementInteractions: keyboard shortcuts bubble up from the viewports and the toolbar */}
        <div className="viewer-main" onKeyDown={shortcuts.onKeyDown}>
          <ViewerToolbar
            tool={shortcuts.tool}
            onTool={shortcuts.setTool}
            view={views[activePane] ?? null}
            modality={series[activePane]?.modality ?? ''}
            run={run}
            onClearMeasurements={() => measurements.clearShown(handles.current[activePane] ?? null)}
            keyImage={{
              on: Boolean(views[activePane] && measurements.keyImageOf(handles.current[activePane] ?? null)),
              toggle: () => measurements.toggleKeyImage(handles.current[activePane] ?? null),
            }}
            twoUp={twoUp}
            onTwoUp={layout.showTwoUp}
            link={{ on: link.on, toggle: link.toggle, unavailable: link.unavailable }}
            helpOpen={shortcuts.helpOpen}
            onHelp={shortcuts.setHelpOpen}
          />
          <MeasurementPanel measurements={measurements} />
          <div className={`viewer-panes${twoUp ? ' two' : ''}`}>
            {viewerFor(0)}
            {twoUp && viewerFor(1)}
          </div>
        </div>
      </div>
    </section>
  );
}
