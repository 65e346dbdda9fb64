/**
 * Linked scrolling between the two viewports: scrolling one moves the other to the slice nearest
 * in position (stack-link.ts). Refs throughout so the viewports' callbacks stay stable; the link is
 * dropped whenever either viewport shows another series, since its offsets no longer mean anything.
 */
import { type RefObject, useCallback, useEffect, useRef, useState } from 'react';
import { sameOrientation, type ViewerSeries } from './dicom-json';
import type { StackViewerHandle } from './StackViewer';
import { followIndex, makeLink, type StackLink } from './stack-link';

export type ViewportHandles = [StackViewerHandle | null, StackViewerHandle | null];

export function useLinkedScroll(
  series: [ViewerSeries | undefined, ViewerSeries | undefined],
  handles: RefObject<ViewportHandles>,
  /** Changes whenever what the viewports show changes (series, prior, one or two viewports). */
  showing: string,
) {
  const [link, setLink] = useState<StackLink | null>(null);
  const linkRef = useRef(link);
  linkRef.current = link;
  const positions = useRef<[(number | undefined)[], (number | undefined)[]]>([[], []]);
  positions.current = [series[0]?.frames.map((f) => f.position) ?? [], series[1]?.frames.map((f) => f.position) ?? []];
  const lastIndex = useRef<[number, number]>([-1, -1]);
  const pendingFollow = useRef(new Map<number, number>());

  /** A viewport now shows slice `index`: the other one follows, unless this move was itself a follow. */
  const follow = useCallback(
    (pane: 0 | 1, index: number) => {
      if (lastIndex.current[pane] === index) return;
      lastIndex.current[pane] = index;
      if (pendingFollow.current.get(pane) === index) {
        pendingFollow.current.delete(pane);
        return;
      }
      const current = linkRef.current;
      const other = pane === 0 ? 1 : 0;
      const follower = handles.current[other];
      if (!current || !follower) return;
      const target = followIndex(current, positions.current[pane], index, positions.current[other], pane === 0 ? 1 : -1);
      if (target >= 0 && target !== follower.viewport.getCurrentImageIdIndex()) {
        pendingFollow.current.set(other, target);
        follower.setIndex(target);
      }
    },
    [handles],
  );

  // biome-ignore lint/correctness/useExhaustiveDependencies: `showing` is the trigger
  useEffect(() => {
    setLink(null);
    pendingFollow.current.clear();
  }, [showing]);

  const toggle = () => {
    if (link) {
      setLink(null);
      return;
    }
    const [a, b] = handles.current;
    if (!a || !b) return;
    setLink(makeLink(positions.current[0], a.viewport.getCurrentImageIdIndex(), positions.current[1], b.viewport.getCurrentImageIdIndex()));
    lastIndex.current = [a.viewport.getCurrentImageIdIndex(), b.viewport.getCurrentImageIdIndex()];
  };
  const unavailable =
    !series[0] || !series[1]
      ? 'Open a series in both viewports first'
      : !sameOrientation(series[0], series[1])
        ? 'Scroll can be linked only between series of the same orientation'
        : null;

  return { on: !!link, toggle, unavailable, follow };
}
