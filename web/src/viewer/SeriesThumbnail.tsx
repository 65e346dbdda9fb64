/**
 * A series thumbnail: the middle image rendered by Cornerstone into a small canvas, through the same
 * image loader as the viewport (`wadors:` online, `pacsoff:` from the device's encrypted copy offline), so it
 * needs no server-side rendering and works without a network. Rendered only once the viewport's first
 * image is shown, at thumbnail priority, so it never delays the image the radiologist is waiting for.
 */
import { utilities } from '@cornerstonejs/core';
import { useEffect, useRef, useState } from 'react';

const SIZE = 64;

export function SeriesThumbnail({ imageId, enabled }: { imageId: string | null; enabled: boolean }) {
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const [state, setState] = useState<'waiting' | 'shown' | 'failed'>('waiting');

  useEffect(() => {
    const canvas = canvasRef.current;
    if (!enabled || !imageId || !canvas) return;
    let cancelled = false;
    canvas.width = SIZE * (window.devicePixelRatio || 1);
    canvas.height = SIZE * (window.devicePixelRatio || 1);
    // GPU path: the CPU path would cache an RGBA copy under the same imageId and the viewport would get it.
    utilities
      .loadImageToCanvas({ canvas, imageId, useCPURendering: false, thumbnail: false })
      .then(() => {
        if (!cancelled) setState('shown');
      })
      .catch(() => {
        if (!cancelled) setState('failed');
      });
    return () => {
      cancelled = true;
    };
  }, [imageId, enabled]);

  return (
    <span className="viewer-thumb" data-state={state} aria-hidden="true">
      <canvas ref={canvasRef} width={SIZE} height={SIZE} style={{ width: SIZE, height: SIZE }} data-testid="series-thumbnail" />
      {state === 'failed' && <span className="viewer-thumb-failed">no preview</span>}
    </span>
  );
}
