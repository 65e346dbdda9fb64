/**
 * Stack prefetch: the images around the one on screen are fetched and decoded ahead, nearest first,
 * so scrolling shows decoded images instead of waiting for the network. Bounded twice: by a reach that
 * keeps what is prefetched within part of the decoded-image budget (config.ts; a tablet's budget is the
 * point), and by a few requests in flight, so the image the user asks for next (an interaction request,
 * which Cornerstone's pools serve first) is never queued behind hundreds of prefetches in the browser's
 * six connections per host.
 */
import { cache, Enums, getEnabledElement, imageLoadPoolManager, metaData, type StackViewport } from '@cornerstonejs/core';
import { utilities } from '@cornerstonejs/tools';
import { decodedCacheBytes, prefetchReach } from './config';

/** Prefetch requests in flight (fetch + decode), for all viewports together. */
export const PREFETCH_IN_FLIGHT = 4;
const prefetching = new Set<HTMLDivElement>();

function imageBytes(viewport: StackViewport): number {
  const imageId = viewport.getCurrentImageId();
  const decoded = imageId ? cache.getImage(imageId) : undefined;
  if (decoded?.sizeInBytes) return decoded.sizeInBytes;
  const pixel = metaData.get('imagePixelModule', imageId) as {
    rows?: number;
    columns?: number;
    bitsAllocated?: number;
    samplesPerPixel?: number;
  };
  return (pixel?.rows ?? 512) * (pixel?.columns ?? 512) * Math.ceil((pixel?.bitsAllocated ?? 16) / 8) * (pixel?.samplesPerPixel ?? 1);
}

function configure(viewport: StackViewport): void {
  imageLoadPoolManager.setMaxSimultaneousRequests(Enums.RequestType.Prefetch, PREFETCH_IN_FLIGHT);
  utilities.stackPrefetch.setConfiguration({
    maxImagesToPrefetch: prefetchReach(decodedCacheBytes(), imageBytes(viewport), prefetching.size, viewport.getImageIds().length),
    // Re-planned from the new position on every image change; stale requests are dropped, not piled up.
    preserveExistingPool: false,
  });
}

/** Starts prefetching around `viewport`'s current image (its stack must be set); returns the stop function. */
export function startPrefetch(element: HTMLDivElement, viewport: StackViewport): () => void {
  prefetching.add(element);
  configure(viewport);
  utilities.stackPrefetch.enable(element);
  return () => {
    prefetching.delete(element);
    // On unmount the rendering engine may be destroyed first, and disable() throws for an element
    // Cornerstone no longer knows; its queued prefetches are dropped all the same.
    if (getEnabledElement(element)) utilities.stackPrefetch.disable(element);
    else imageLoadPoolManager.clearRequestStack(Enums.RequestType.Prefetch);
  };
}
