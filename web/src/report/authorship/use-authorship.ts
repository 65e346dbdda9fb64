/**
 * Who wrote what in one report, fetched while "Colour by author" is on: the authors with their Yjs
 * client ids (for the live editor) and the attributed text (for a signed report). Asked again at
 * most every few seconds when the editor meets a client id it cannot place; offline the last
 * answer stays.
 */
import { TEMPLATE_AUTHOR_ID } from '@pacs/shared';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { fetchAuthorship, type ReportAuthorship } from '../report-api';
import type { ColouredAuthor } from './author-colours';
import { colourFor } from './colours';

const REFETCH_INTERVAL_MS = 5_000;

/** `revision` changes when the report moves (e.g. signed): the text is read again then. */
export function useAuthorship(reportId: string, enabled: boolean, revision: string) {
  const [authorship, setAuthorship] = useState<ReportAuthorship | null>(null);
  const [failed, setFailed] = useState(false);
  const last = useRef(0);
  const pending = useRef<ReturnType<typeof setTimeout> | null>(null);

  const load = useCallback(async () => {
    last.current = Date.now();
    try {
      setAuthorship(await fetchAuthorship(reportId));
      setFailed(false);
    } catch {
      setFailed(true);
    }
  }, [reportId]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: revision is the reason to load again
  useEffect(() => {
    if (enabled) void load();
    return () => {
      if (pending.current) clearTimeout(pending.current);
      pending.current = null;
    };
  }, [enabled, load, revision]);

  /** At most one request per interval; a request asked for meanwhile is made at its end. */
  const refetch = useCallback(() => {
    if (pending.current) return;
    const wait = Math.max(0, last.current + REFETCH_INTERVAL_MS - Date.now());
    pending.current = setTimeout(() => {
      pending.current = null;
      void load();
    }, wait);
  }, [load]);

  return { authorship, failed, refetch };
}

/** Client id → author for the editor: the server's bindings, and this editor's own id as the user before the server has it. */
export function useClientAuthors(
  authorship: ReportAuthorship | null,
  own: { clientId: number; userId: string; name: string },
): ReadonlyMap<number, ColouredAuthor> {
  return useMemo(() => {
    const map = new Map<number, ColouredAuthor>();
    for (const author of authorship?.authors ?? []) {
      const colour = author.userId === TEMPLATE_AUTHOR_ID ? null : colourFor(author.userId);
      for (const clientId of author.clientIds) map.set(clientId, { userId: author.userId, name: author.name, colour });
    }
    if (!map.has(own.clientId)) map.set(own.clientId, { userId: own.userId, name: own.name, colour: colourFor(own.userId) });
    return map;
  }, [authorship, own.clientId, own.userId, own.name]);
}
