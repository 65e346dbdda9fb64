/**
 * Linked scrolling as the viewer wires it: the follower moves to the nearest slice, its own move
 * does not bounce back to the leader, and the link ends when the viewports show something else.
 */
import { act, useRef } from 'react';
import { describe, expect, it } from 'vitest';
import { render } from '../test/render';
import { type DicomJson, TAG, type ViewerSeries } from './dicom-json';
import type { StackViewerHandle } from './StackViewer';
import { useLinkedScroll, type ViewportHandles } from './use-linked-scroll';

const AXIAL: DicomJson = { [TAG.ImageOrientationPatient]: { vr: 'DS', Value: [1, 0, 0, 0, 1, 0] } };
const CORONAL: DicomJson = { [TAG.ImageOrientationPatient]: { vr: 'DS', Value: [1, 0, 0, 0, 0, -1] } };

function stack(uid: string, positions: number[], instance = AXIAL): ViewerSeries {
  return {
    seriesInstanceUid: uid,
    seriesNumber: 1,
    description: uid,
    modality: 'CT',
    imageCount: positions.length,
    frames: positions.map((position, i) => ({ path: `/${uid}/${i}`, sopInstanceUid: `${uid}.${i}`, frame: 1, instance, position })),
  };
}

/** A viewport that records where it was sent. */
function fakeViewport(start: number) {
  const moves: number[] = [];
  let index = start;
  const handle = {
    viewport: { getCurrentImageIdIndex: () => index },
    setIndex(next: number) {
      index = next;
      moves.push(next);
    },
  } as unknown as StackViewerHandle;
  return { handle, moves, scrollTo: (next: number) => (index = next) };
}

type Linked = ReturnType<typeof useLinkedScroll>;
type Shown = [ViewerSeries | undefined, ViewerSeries | undefined];

function Harness({
  showing,
  shown,
  handles,
  seen,
}: {
  showing: string;
  shown: Shown;
  handles: ViewportHandles;
  seen: { current: Linked | null };
}) {
  const ref = useRef<ViewportHandles>(handles);
  seen.current = useLinkedScroll(shown, ref, showing);
  return null;
}

function setUp(series: Shown, handles: ViewportHandles) {
  const seen: { current: Linked | null } = { current: null };
  const rendered = render(<Harness showing="a" shown={series} handles={handles} seen={seen} />);
  return {
    linked: () => seen.current!,
    show: (showing: string, shown = series) => rendered.rerender(<Harness showing={showing} shown={shown} handles={handles} seen={seen} />),
    unmount: rendered.unmount,
  };
}

describe('useLinkedScroll', () => {
  it('moves the other viewport to the slice at the same offset, without bouncing back', () => {
    const left = fakeViewport(0);
    const right = fakeViewport(2);
    const view = setUp([stack('a', [0, 5, 10, 15, 20]), stack('b', [100, 105, 110, 115, 120])], [left.handle, right.handle]);
    expect(view.linked().unavailable).toBeNull();
    act(() => view.linked().toggle());
    expect(view.linked().on).toBe(true);

    // Linked at 0 mm ↔ 110 mm: the left viewport one slice on sends the right one to 115 mm.
    left.scrollTo(1);
    view.linked().follow(0, 1);
    expect(right.moves).toEqual([3]);
    // The right viewport reports its new slice: that was the follow itself, so the left one stays.
    view.linked().follow(1, 3);
    expect(left.moves).toEqual([]);
    // The right viewport scrolled by the user leads in turn.
    right.scrollTo(4);
    view.linked().follow(1, 4);
    expect(left.moves).toEqual([2]);
    view.unmount();
  });

  it('ends the link when the viewports show something else', () => {
    const left = fakeViewport(0);
    const right = fakeViewport(0);
    const view = setUp([stack('a', [0, 5, 10]), stack('b', [0, 5, 10])], [left.handle, right.handle]);
    act(() => view.linked().toggle());
    expect(view.linked().on).toBe(true);
    view.show('b');
    expect(view.linked().on).toBe(false);
    view.linked().follow(0, 2);
    expect(right.moves).toEqual([]);
    view.unmount();
  });

  it('says why the scroll cannot be linked', () => {
    const view = setUp([stack('a', [0, 5]), undefined], [null, null]);
    expect(view.linked().unavailable).toBe('Open a series in both viewports first');
    view.show('b', [stack('a', [0, 5]), stack('c', [0, 5], CORONAL)]);
    expect(view.linked().unavailable).toBe('Scroll can be linked only between series of the same orientation');
    view.unmount();
  });
});
