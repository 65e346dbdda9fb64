/**
 * Across the top of every page: a referrer's critical results waiting for them, or, for
 * radiologists and admins, the ones past their limit. Looked up every few seconds while the page
 * is visible and online, so a new flag reaches its recipient without a reload.
 */
import { type CriticalResult, can, criticalClock, type Role } from '@pacs/shared';
import { useCallback, useState, useSyncExternalStore } from 'react';
import { api } from '../api/client';
import type { CriticalResultList } from '../api/types';
import { usePoll } from '../app/use-poll';
import { session } from '../auth/session';
import { Link } from '../router';

const POLL_MS = 15_000;

export function CriticalBanner({ role }: { role: Role }) {
  const online = useSyncExternalStore(session.subscribe, session.get, session.get).mode === 'online';
  const [open, setOpen] = useState<CriticalResult[]>([]);
  const allowed = can(role, 'critical:read');
  const look = useCallback(
    () =>
      api
        .request<CriticalResultList>('GET', '/api/critical-results?status=open&limit=200')
        .then((list) => setOpen(list.items))
        .catch(() => undefined),
    [],
  );
  usePoll(look, POLL_MS, allowed && online);

  const waiting = role === 'referrer' ? open : open.filter((result) => criticalClock(result, Date.now()).overdue);
  if (!allowed || waiting.length === 0) return null;
  const plural = waiting.length === 1 ? '' : 's';
  return (
    <p className="banner danger" role="alert" data-testid="critical-banner">
      {role === 'referrer'
        ? `${waiting.length} critical result${plural} waiting for your acknowledgement.`
        : `${waiting.length} critical result${plural} past the limit without acknowledgement.`}{' '}
      <Link href="/critical">Open them</Link>
    </p>
  );
}
