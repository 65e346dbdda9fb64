/**
 * Which study each viewport shows: the page's study loads into the first viewport (from the device
 * when it is complete there, else from the archive); a prior or a second series can join it in
 * the second. The loading functions are shared with the priors (use-priors.ts).
 */
import { useEffect, useState } from 'react';
import { NetworkError } from '../api/client';
import type { WorklistStudy } from '../api/types';
import type { WorklistDb } from '../device/db';
import { useWorkspace } from '../device/workspace';
import { worklistRow } from '../worklist/study-row';
import { authFetch } from './auth';
import { addInstanceMetadata, initCornerstone, OFFLINE_SCHEME, preloadImage, setOfflineStudies } from './cornerstone';
import { type DicomJson, layoutStudy, sameOrientation, type ViewerSeries, type ViewerStudy } from './dicom-json';
import { METADATA_ACCEPT, type OfflineStudies } from './offline-studies';

export type Source = 'online' | 'offline';

export interface Loaded {
  studyId: string;
  study: ViewerStudy;
  row: WorklistStudy | null;
  source: Source;
}

export interface Pane {
  loaded: Loaded;
  seriesUid: string | null;
}

export type Panes = [Pane | null, Pane | null];

/** A study's metadata from the device when it is complete there (unless `prefer` is online), else WADO-RS. */
export async function loadStudy(
  db: WorklistDb,
  offlineStudies: OfflineStudies,
  studyId: string,
  prefer: Source | null | undefined,
): Promise<Loaded> {
  await initCornerstone();
  // The device's row is read beside the offline lookup: one after the other they added ~15–50 ms before
  // the metadata request. Unused when the study opens from the device (its row comes with it).
  const rowOnDevice = db.sealed.studies.get(studyId);
  rowOnDevice.catch(() => undefined);
  const local = await offlineStudies.get(studyId);
  let instances: DicomJson[];
  let row: WorklistStudy | null = null;
  let source: Source;
  if (local?.state === 'complete' && prefer !== 'online') {
    const content = await offlineStudies.open<WorklistStudy | null>(studyId);
    instances = content?.instances ?? [];
    row = content?.extra ?? null;
    source = 'offline';
  } else {
    try {
      row = await worklistRow(db, studyId, rowOnDevice);
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

export function imageIdsOf(loaded: Loaded, series: ViewerSeries | undefined): string[] {
  if (!series) return [];
  const scheme = loaded.source === 'offline' ? OFFLINE_SCHEME : 'wadors';
  return series.frames.map((f) => `${scheme}:${window.location.origin}${f.path}`);
}

export function paneSeries(pane: Pane | null): ViewerSeries | undefined {
  if (!pane) return undefined;
  return pane.loaded.study.series.find((s) => s.seriesInstanceUid === pane.seriesUid) ?? pane.loaded.study.series[0];
}

/** The series of `study` that best matches `like`: same modality and orientation, else same modality, else the first. */
export function matchingSeries(study: ViewerStudy, like: ViewerSeries | undefined): string | null {
  const same = like ? study.series.filter((s) => s.modality === like.modality) : [];
  return (
    (like && same.find((s) => sameOrientation(s, like))?.seriesInstanceUid) ??
    same[0]?.seriesInstanceUid ??
    study.series[0]?.seriesInstanceUid ??
    null
  );
}

/** Loads `studyId` into the first viewport (again when it changes); `problem` says why it could not. */
export function useStudy(offlineStudies: OfflineStudies, studyId: string, prefer: Source | null | undefined, initialSeries?: string) {
  const { db } = useWorkspace();
  const [panes, setPanes] = useState<Panes>([null, null]);
  const [problem, setProblem] = useState<string | null>(null);

  // The offline image loader (pacsoff:) reads frames from these offline studies.
  useEffect(() => {
    setOfflineStudies(offlineStudies);
  }, [offlineStudies]);

  useEffect(() => {
    let cancelled = false;
    setPanes([null, null]);
    setProblem(null);
    (async () => {
      const loaded = await loadStudy(db, offlineStudies, studyId, prefer);
      if (cancelled) return;
      // The first image loads while React mounts the viewport and Cornerstone sets it up.
      // A link to one image (a report's) opens its series.
      const series = loaded.study.series.find((s) => s.seriesInstanceUid === initialSeries) ?? loaded.study.series[0];
      const first = imageIdsOf(loaded, series)[0];
      if (first) preloadImage(first);
      setPanes([{ loaded, seriesUid: series?.seriesInstanceUid ?? null }, null]);
    })().catch((error: unknown) => {
      if (!cancelled) setProblem((error as Error).message || String(error));
    });
    return () => {
      cancelled = true;
    };
  }, [db, offlineStudies, studyId, prefer, initialSeries]);

  return { panes, setPanes, main: panes[0]?.loaded ?? null, problem };
}
