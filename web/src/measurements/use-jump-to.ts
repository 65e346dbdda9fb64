/**
 * Opening the viewer from a report's link: once the first viewport has its stack, it shows the
 * linked image and selects the linked measurement.
 */
import { annotation as csAnnotation } from '@cornerstonejs/tools';
import type { ViewerTarget } from '@pacs/shared';
import { useEffect, useRef } from 'react';
import type { StackViewerHandle } from '../viewer/StackViewer';
import { imageRefOf, sameImage } from './annotation-bridge';

export function useJumpTo(
  target: ViewerTarget | null | undefined,
  handles: () => readonly (StackViewerHandle | null)[],
  readyTick: number,
) {
  const done = useRef(false);
  // biome-ignore lint/correctness/useExhaustiveDependencies: readyTick says the first viewport has its stack
  useEffect(() => {
    const handle = handles()[0];
    if (!target || done.current || !handle) return;
    const index = handle.viewport.getImageIds().findIndex((id) => {
      const ref = imageRefOf(id);
      return ref !== null && sameImage(ref, target);
    });
    if (index < 0) return;
    done.current = true;
    handle.setIndex(index);
    if (target.measurementId) csAnnotation.selection.setAnnotationSelected(target.measurementId, true);
  }, [target, handles, readyTick]);
}
