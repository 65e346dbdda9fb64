/**
 * Searching the whole archive for what is not on this device (`GET /api/studies`): online only,
 * a page at a time by the server's keyset cursor. Results stay in this page's memory: they are
 * never stored on the device (what the device holds is decided by the server's device scope; a
 * study opened from here joins it as "recent", one followed as "followed").
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { api, NetworkError } from '../api/client';
import type { WorklistPage, WorklistStudy } from '../api/types';
import { toServerQuery, type WorklistFilter } from './filter';

const PAGE = 100;
const SETTLE_MS = 250;

export interface ServerSearch {
  rows: WorklistStudy[];
  /** Matches of the whole query on the server; null until the first page answers. */
  total: number | null;
  loading: boolean;
  error: string | null;
  hasMore: boolean;
  loadMore: () => void;
  /** The first page again (after a change made from a result). */
  refresh: () => void;
}

export function useServerSearch(filter: WorklistFilter, active: boolean): ServerSearch {
  const [rows, setRows] = useState<WorklistStudy[]>([]);
  const [total, setTotal] = useState<number | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  // Answers to an earlier filter (typed over while in flight) are dropped.
  const generation = useRef(0);

  const fetchPage = useCallback(async (forFilter: WorklistFilter, after: string | null, gen: number) => {
    setLoading(true);
    try {
      const page = await api.request<WorklistPage>('GET', `/api/studies?${toServerQuery(forFilter, PAGE, after)}`);
      if (gen !== generation.current) return;
      setRows((shown) => (after ? [...shown, ...page.items] : page.items));
      if (!after) setTotal(page.total);
      setCursor(page.nextCursor);
      setError(null);
    } catch (e) {
      if (gen !== generation.current) return;
      setError(
        e instanceof NetworkError ? 'The server cannot be reached: only this device’s studies can be searched.' : (e as Error).message,
      );
    } finally {
      if (gen === generation.current) setLoading(false);
    }
  }, []);

  useEffect(() => {
    const gen = ++generation.current;
    if (!active) {
      setRows([]);
      setTotal(null);
      setCursor(null);
      setLoading(false);
      return;
    }
    setLoading(true);
    const timer = setTimeout(() => void fetchPage(filter, null, gen), SETTLE_MS);
    return () => clearTimeout(timer);
  }, [active, filter, fetchPage]);

  const loadMore = useCallback(() => {
    if (cursor && !loading) void fetchPage(filter, cursor, generation.current);
  }, [cursor, loading, filter, fetchPage]);

  const refresh = useCallback(() => {
    if (active) void fetchPage(filter, null, ++generation.current);
  }, [active, filter, fetchPage]);

  return { rows, total, loading, error, hasMore: cursor !== null, loadMore, refresh };
}
