/**
 * Across the top of every page: a referrer's critical results waiting for them, or, for
 * radiologists and admins, the ones past their limit. Looked up every few seconds while the page
 * is visible and online, so a new flag reaches its recipient without a reload.
 */
import { can, criticalClock, type Role } from '@pacs/shared';
import { useSyncExternalStore } from 'react';
import { session } from '../auth/session';
import { Link } from '../router';
import { useOpenCriticalResults } from './open-results';

export function CriticalBanner({ role }: { role: Role }) {
  const online = useSyncExternalStore(session.subscribe, session.get, session.get).mode === 'online';
  const allowed = can(role, 'critical:read');
  const open = useOpenCriticalResults(allowed && online) ?? [];

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
