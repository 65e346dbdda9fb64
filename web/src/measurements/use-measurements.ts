/**
 * The viewer's measurements and key images for one study: loads them (server, else the device's
 * copy), puts them on the viewports that show their images, and turns what the user draws, moves,
 * labels, clears or flags into changes through the device's outbox. Only the user's own
 * measurements are saved; others' are shown locked.
 */
import { eventTarget } from '@cornerstonejs/core';
import { annotation as csAnnotation, Enums as ToolEnums } from '@cornerstonejs/tools';
import type { KeyImage, Measurement } from '@pacs/shared';
import { useCallback, useEffect, useRef, useState } from 'react';
import { usePoll } from '../app/use-poll';
import { useWorkspace } from '../device/workspace';
import type { StackViewerHandle } from '../viewer/StackViewer';
import { type AnnotationLike, imageRefOf, sameImage, shapeOf, showMeasurement } from './annotation-bridge';
import { loadAnnotations, onAnnotationsChanged, recordChange, type StudyAnnotations } from './measurement-outbox';

const SAVE_DELAY_MS = 400;
const OTHERS_POLL_MS = 30_000;
/** Cornerstone computes statistics at the next render: a save waits for them this many times. */
const SAVE_RETRIES = 25;
const SAVED_CHANGES = new Set<string>([
  ToolEnums.ChangeTypes.HandlesUpdated,
  ToolEnums.ChangeTypes.Completed,
  ToolEnums.ChangeTypes.LabelChange,
]);

const comparable = (m: Pick<Measurement, 'label' | 'points' | 'values' | 'units'>) =>
  JSON.stringify({ label: m.label, points: m.points, values: m.values, units: m.units });

export interface MeasurementsApi {
  annotations: StudyAnnotations | null;
  problem: string | null;
  /** Removes the user's own measurements on the images a viewport shows (others' stay). */
  clearShown(handle: StackViewerHandle | null): void;
  remove(id: string): void;
  setLabel(id: string, label: string): void;
  /** The key image of the image a viewport shows, if it is one. */
  keyImageOf(handle: StackViewerHandle | null): KeyImage | null;
  toggleKeyImage(handle: StackViewerHandle | null): void;
}

export function useMeasurements(
  studyId: string,
  studyInstanceUid: string | null,
  handles: () => readonly (StackViewerHandle | null)[],
  readyTick: number,
): MeasurementsApi {
  const { db, user } = useWorkspace();
  const [annotations, setAnnotations] = useState<StudyAnnotations | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  /** Measurements known to be stored (or waiting in the outbox), with what was stored. */
  const known = useRef(new Map<string, { mine: boolean; saved: string }>());
  const timers = useRef(new Map<string, number>());

  const reload = useCallback(async () => {
    try {
      setAnnotations(await loadAnnotations(db, studyId, user.id));
      setProblem(null);
    } catch (error) {
      setProblem((error as Error).message);
    }
  }, [db, studyId, user.id]);

  // Others' new measurements (a resident drawing while the attending reads) arrive within this.
  usePoll(reload, OTHERS_POLL_MS);
  useEffect(() => {
    let timer = 0;
    const off = onAnnotationsChanged((changed) => {
      if (changed !== studyId) return;
      window.clearTimeout(timer);
      timer = window.setTimeout(() => void reload(), 150);
    });
    return () => {
      off();
      window.clearTimeout(timer);
    };
  }, [reload, studyId]);

  // Stored measurements onto the viewports showing their images; others' that were deleted come off.
  // biome-ignore lint/correctness/useExhaustiveDependencies: readyTick says a viewport (re)loaded its stack
  useEffect(() => {
    if (!annotations) return;
    const listed = new Set(annotations.measurements.map((m) => m.id));
    for (const [id, entry] of known.current)
      if (!entry.mine && !listed.has(id) && csAnnotation.state.getAnnotation(id)) {
        csAnnotation.state.removeAnnotation(id);
        known.current.delete(id);
      }
    for (const handle of handles()) {
      if (!handle) continue;
      const byImage = new Map<string, string>();
      for (const imageId of handle.viewport.getImageIds()) {
        const ref = imageRefOf(imageId);
        if (ref) byImage.set(`${ref.sopInstanceUid}|${ref.frame}`, imageId);
      }
      for (const m of annotations.measurements) {
        if (!known.current.has(m.id)) known.current.set(m.id, { mine: m.mine, saved: comparable(m) });
        const imageId = byImage.get(`${m.sopInstanceUid}|${m.frame}`);
        if (imageId) showMeasurement(handle.viewport, imageId, m);
      }
      handle.viewport.render();
    }
  }, [annotations, readyTick, handles]);

  const save = useCallback(
    (uid: string, attempt = 0) => {
      window.clearTimeout(timers.current.get(uid));
      const timer = window.setTimeout(() => {
        timers.current.delete(uid);
        const annotation = csAnnotation.state.getAnnotation(uid) as AnnotationLike | undefined;
        if (!annotation) return;
        const shape = shapeOf(annotation);
        if (!shape) {
          if (attempt < SAVE_RETRIES) save(uid, attempt + 1);
          return;
        }
        const { tool, seriesInstanceUid, sopInstanceUid, frame, ...editable } = shape;
        const now = comparable(editable);
        const entry = known.current.get(uid);
        if (entry && (!entry.mine || entry.saved === now)) return;
        known.current.set(uid, { mine: true, saved: now });
        void recordChange(
          db,
          entry
            ? { studyId, kind: 'update', targetId: uid, body: editable }
            : { studyId, kind: 'create', targetId: uid, body: { id: uid, tool, seriesInstanceUid, sopInstanceUid, frame, ...editable } },
        );
      }, SAVE_DELAY_MS);
      timers.current.set(uid, timer);
    },
    [db, studyId],
  );

  // What the user draws or changes on this study's images (not a prior's beside it).
  useEffect(() => {
    if (!studyInstanceUid) return;
    const ours = `/studies/${studyInstanceUid}/series/`;
    const onChange = (event: Event) => {
      const detail = (event as CustomEvent<{ annotation?: AnnotationLike; changeType?: string }>).detail;
      const annotation = detail?.annotation;
      const uid = annotation?.annotationUID;
      if (!annotation || !uid || !(annotation.metadata.referencedImageId ?? '').includes(ours)) return;
      if (event.type === ToolEnums.Events.ANNOTATION_MODIFIED && !SAVED_CHANGES.has(detail.changeType ?? '')) return;
      if (known.current.get(uid)?.mine === false) return;
      save(uid);
    };
    const completed = ToolEnums.Events.ANNOTATION_COMPLETED;
    const modified = ToolEnums.Events.ANNOTATION_MODIFIED;
    eventTarget.addEventListener(completed, onChange);
    eventTarget.addEventListener(modified, onChange);
    return () => {
      eventTarget.removeEventListener(completed, onChange);
      eventTarget.removeEventListener(modified, onChange);
    };
  }, [studyInstanceUid, save]);

  useEffect(
    () => () => {
      for (const t of timers.current.values()) window.clearTimeout(t);
    },
    [],
  );

  const remove = useCallback(
    (id: string) => {
      const entry = known.current.get(id);
      if (entry && !entry.mine) return;
      window.clearTimeout(timers.current.get(id));
      if (csAnnotation.state.getAnnotation(id)) csAnnotation.state.removeAnnotation(id);
      known.current.delete(id);
      if (entry) void recordChange(db, { studyId, kind: 'delete', targetId: id });
      for (const handle of handles()) handle?.viewport.render();
    },
    [db, studyId, handles],
  );

  const clearShown = useCallback(
    (handle: StackViewerHandle | null) => {
      if (!handle) return;
      const shown = new Set(handle.viewport.getImageIds());
      for (const a of csAnnotation.state.getAllAnnotations())
        if (a.annotationUID && shown.has(a.metadata?.referencedImageId ?? '') && known.current.get(a.annotationUID)?.mine !== false)
          remove(a.annotationUID);
    },
    [remove],
  );

  const setLabel = useCallback(
    (id: string, label: string) => {
      const annotation = csAnnotation.state.getAnnotation(id) as AnnotationLike | undefined;
      const stored = annotations?.measurements.find((m) => m.id === id);
      if (!stored?.mine) return;
      if (annotation) {
        annotation.data.label = label;
        for (const handle of handles()) handle?.viewport.render();
      }
      const body = { label, points: stored.points, values: stored.values, units: stored.units };
      known.current.set(id, { mine: true, saved: comparable(body) });
      void recordChange(db, { studyId, kind: 'update', targetId: id, body });
    },
    [annotations, db, studyId, handles],
  );

  const keyImageOf = useCallback(
    (handle: StackViewerHandle | null) => {
      const ref = handle ? imageRefOf(handle.viewport.getCurrentImageId() ?? '') : null;
      return (ref && annotations?.keyImages.find((k) => sameImage(k, ref))) || null;
    },
    [annotations],
  );

  const toggleKeyImage = useCallback(
    (handle: StackViewerHandle | null) => {
      const imageId = handle?.viewport.getCurrentImageId() ?? '';
      const ref = imageRefOf(imageId);
      if (!ref || !studyInstanceUid || !imageId.includes(`/studies/${studyInstanceUid}/series/`)) return;
      const existing = keyImageOf(handle);
      if (existing) void recordChange(db, { studyId, kind: 'unflag', targetId: existing.id });
      else {
        const id = crypto.randomUUID();
        void recordChange(db, { studyId, kind: 'flag', targetId: id, body: { id, ...ref } });
      }
    },
    [db, studyId, studyInstanceUid, keyImageOf],
  );

  return { annotations, problem, clearShown, remove, setLabel, keyImageOf, toggleKeyImage };
}
