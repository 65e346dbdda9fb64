/** A critical result's clock: time left to its limit, or how long overdue; ticks every second while open. */
import { type CriticalResult, criticalClock } from '@pacs/shared';
import { useEffect, useState } from 'react';

export function duration(ms: number): string {
  const total = Math.floor(Math.abs(ms) / 1000);
  const days = Math.floor(total / 86_400);
  const h = Math.floor((total % 86_400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (days > 0) return `${days} d ${h} h`;
  if (h > 0) return `${h} h ${String(m).padStart(2, '0')} min`;
  return `${m}:${String(s).padStart(2, '0')}`;
}

export function Clock({ result }: { result: Pick<CriticalResult, 'dueAt' | 'status'> }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (result.status !== 'open') return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [result.status]);
  if (result.status !== 'open') return null;
  const { remainingMs, overdue } = criticalClock(result, now);
  return (
    <span className={overdue ? 'clock overdue' : 'clock'} data-testid="critical-clock">
      {overdue ? `overdue ${duration(remainingMs)}` : `${duration(remainingMs)} left`}
    </span>
  );
}
