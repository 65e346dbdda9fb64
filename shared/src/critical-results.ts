/**
 * Critical results: a finding the ordering physician must hear about within a time limit, and the
 * record that they did. A radiologist flags a report with a category; the clock starts when the
 * server receives the flag (a flag raised offline waits on the device and its clock has not
 * started); the recipient, or the radiologist who reached them by phone, acknowledges it; past the
 * limit an unacknowledged result escalates, first to the attending, then to a department list.
 *
 * Categories after the ACR practice parameter on communication (red: minutes, orange: hours,
 * yellow: days); the limits themselves are settings.
 */
export const CRITICAL_CATEGORIES = ['red', 'orange', 'yellow'] as const;
export type CriticalCategory = (typeof CRITICAL_CATEGORIES)[number];

export const CRITICAL_CATEGORY_LABELS: Readonly<Record<CriticalCategory, string>> = {
  red: 'Red: life-threatening, minutes',
  orange: 'Orange: urgent, hours',
  yellow: 'Yellow: significant, days',
};

/** Limits used when the setting names none: 60 minutes, 3 hours, 3 days. */
export const DEFAULT_CRITICAL_LIMITS_MS: Readonly<Record<CriticalCategory, number>> = {
  red: 60 * 60_000,
  orange: 3 * 60 * 60_000,
  yellow: 3 * 24 * 60 * 60_000,
};

export const CRITICAL_STATUSES = ['open', 'acknowledged', 'withdrawn'] as const;
export type CriticalStatus = (typeof CRITICAL_STATUSES)[number];

/**
 * How an acknowledgement was given. `in-app` is the recipient's own; the others are recorded by a
 * radiologist who reached the recipient, naming who received it (and, by phone, that it was read back).
 */
export const CRITICAL_ACK_CHANNELS = ['in-app', 'phone', 'in-person', 'secure-message'] as const;
export type CriticalAckChannel = (typeof CRITICAL_ACK_CHANNELS)[number];

/** Who is being told: the ordering physician, then (escalation) the attending, then the department list. */
export const CRITICAL_ESCALATION_LEVELS = [0, 1, 2] as const;
export type CriticalEscalationLevel = (typeof CRITICAL_ESCALATION_LEVELS)[number];
export const CRITICAL_LEVEL_LABELS: Readonly<Record<CriticalEscalationLevel, string>> = {
  0: 'ordering physician',
  1: 'attending',
  2: 'department',
};

/** One line of the communication record, as the PDF and FHIR carry it. */
export const CRITICAL_EVENT_KINDS = ['flagged', 'notified', 'unreachable', 'escalated', 'acknowledged', 'withdrawn'] as const;
export type CriticalEventKind = (typeof CRITICAL_EVENT_KINDS)[number];
export const CRITICAL_EVENT_CHANNELS = ['in-app', 'email', 'hl7', 'phone', 'in-person', 'secure-message', ''] as const;
export type CriticalEventChannel = (typeof CRITICAL_EVENT_CHANNELS)[number];

/**
 * `red=60m,orange=3h,yellow=3d` (units s, m, h, d) → limits in ms; categories left out keep their
 * default. Throws naming the bad entry.
 */
export function parseCriticalLimits(value: string): Record<CriticalCategory, number> {
  const limits = { ...DEFAULT_CRITICAL_LIMITS_MS };
  const unitMs = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
  for (const entry of value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')) {
    const match = /^(red|orange|yellow)=(\d{1,6})(s|m|h|d)$/.exec(entry);
    if (!match || Number(match[2]) === 0) throw new Error(`'${entry}' is not category=duration (red=60m, orange=3h, yellow=3d)`);
    limits[match[1] as CriticalCategory] = Number(match[2]) * unitMs[match[3] as keyof typeof unitMs];
  }
  return limits;
}

/**
 * When the next escalation falls due: at the limit (to the attending), then one more limit later
 * (to the department); none after that, nor once the result is closed.
 */
export function nextEscalationAt(flaggedAt: Date, limitMs: number, level: CriticalEscalationLevel): Date | null {
  if (level >= 2) return null;
  return new Date(flaggedAt.getTime() + limitMs * (level + 1));
}

/** Where a result's clock stands at `now`: ms left before its limit (negative once overdue). */
export function criticalClock(
  result: { dueAt: string | Date; status: CriticalStatus },
  now: number,
): { remainingMs: number; overdue: boolean } {
  const remainingMs = new Date(result.dueAt).getTime() - now;
  return { remainingMs, overdue: result.status === 'open' && remainingMs < 0 };
}
