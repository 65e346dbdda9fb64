import { describe, expect, it } from 'vitest';
import { criticalClock, DEFAULT_CRITICAL_LIMITS_MS, nextEscalationAt, parseCriticalLimits } from '../src/critical-results';

describe('critical result limits', () => {
  it('reads category=duration lists with s, m, h and d, keeping defaults for the rest', () => {
    expect(parseCriticalLimits('')).toEqual(DEFAULT_CRITICAL_LIMITS_MS);
    expect(parseCriticalLimits('red=30m, yellow=2d')).toEqual({
      red: 30 * 60_000,
      orange: DEFAULT_CRITICAL_LIMITS_MS.orange,
      yellow: 2 * 86_400_000,
    });
    expect(parseCriticalLimits('orange=90s').orange).toBe(90_000);
  });

  it.each(['red=0m', 'red=60', 'purple=1h', 'red=1w', 'red=-1m', 'red =1h;orange=2h', 'red=1h,,orange'])(
    'refuses %j naming it',
    (value) => {
      if (value === 'red=1h,,orange') expect(() => parseCriticalLimits(value)).toThrow(/'orange'/);
      else expect(() => parseCriticalLimits(value)).toThrow(/is not category=duration/);
    },
  );
});

describe('escalation schedule', () => {
  const flagged = new Date('2026-12-04T10:00:00Z');
  it('escalates to the attending at the limit and to the department one limit later, then never', () => {
    expect(nextEscalationAt(flagged, 60_000, 0)?.toISOString()).toBe('2026-12-04T10:01:00.000Z');
    expect(nextEscalationAt(flagged, 60_000, 1)?.toISOString()).toBe('2026-12-04T10:02:00.000Z');
    expect(nextEscalationAt(flagged, 60_000, 2)).toBeNull();
  });

  it('counts an open result past its due time as overdue, a closed one never', () => {
    const dueAt = '2026-12-04T10:01:00.000Z';
    expect(criticalClock({ dueAt, status: 'open' }, Date.parse('2026-12-04T10:00:30Z'))).toEqual({ remainingMs: 30_000, overdue: false });
    expect(criticalClock({ dueAt, status: 'open' }, Date.parse('2026-12-04T10:02:00Z'))).toEqual({ remainingMs: -60_000, overdue: true });
    expect(criticalClock({ dueAt, status: 'acknowledged' }, Date.parse('2026-12-04T10:02:00Z')).overdue).toBe(false);
  });
});
