/**
 * A windowed list for fixed-height rows: only the rows in view (plus a margin) are in the DOM,
 * so 10,000 studies scroll and filter as fast as 50.
 */
import { type RefObject, useEffect, useLayoutEffect, useState } from 'react';

export function useVirtualWindow(container: RefObject<HTMLElement | null>, count: number, rowHeight: number, overscan = 8) {
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(600);
  useLayoutEffect(() => {
    const el = container.current;
    if (!el) return;
    setHeight(el.clientHeight || 600);
    const onScroll = () => setScrollTop(el.scrollTop);
    el.addEventListener('scroll', onScroll, { passive: true });
    const observer = typeof ResizeObserver === 'function' ? new ResizeObserver(() => setHeight(el.clientHeight || 600)) : null;
    observer?.observe(el);
    return () => {
      el.removeEventListener('scroll', onScroll);
      observer?.disconnect();
    };
  }, [container]);
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const last = Math.min(count, Math.ceil((scrollTop + height) / rowHeight) + overscan);
  return { first, last };
}

/** Scrolls the container so that row `index` is visible. */
export function useScrollIntoView(container: RefObject<HTMLElement | null>, index: number, rowHeight: number) {
  useEffect(() => {
    const el = container.current;
    if (!el || index < 0) return;
    const top = index * rowHeight;
    if (top < el.scrollTop) el.scrollTop = top;
    else if (top + rowHeight > el.scrollTop + el.clientHeight) el.scrollTop = top + rowHeight - el.clientHeight;
  }, [container, index, rowHeight]);
}
