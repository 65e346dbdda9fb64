import { describe, expect, it } from 'vitest';
import { ROLES } from '../src/permissions';
import {
  isReportLocked,
  REPORT_STATUSES,
  REPORT_TRANSITIONS,
  reportTransition,
  STUDY_STATUSES,
  STUDY_TRANSITIONS,
  studyEventForTarget,
  studyTransition,
} from '../src/workflow';

describe('report state machine', () => {
  it('walks draft → preliminary → final → addended with the right actors', () => {
    expect(reportTransition('draft', 'submit', 'resident')).toEqual({ ok: true, to: 'preliminary' });
    expect(reportTransition('preliminary', 'finalize', 'attending')).toEqual({ ok: true, to: 'final' });
    expect(reportTransition('final', 'addendum-finalized', 'system')).toEqual({ ok: true, to: 'addended' });
  });

  it('returns a preliminary report to the resident, who resubmits', () => {
    expect(reportTransition('preliminary', 'return', 'attending')).toEqual({ ok: true, to: 'returned' });
    expect(reportTransition('returned', 'submit', 'resident')).toEqual({ ok: true, to: 'preliminary' });
  });

  it('refuses a resident finalizing from any state', () => {
    for (const from of REPORT_STATUSES) {
      expect(reportTransition(from, 'finalize', 'resident').ok, from).toBe(false);
    }
  });

  it('distinguishes a wrong state from a wrong role', () => {
    expect(reportTransition('final', 'submit', 'resident')).toMatchObject({ ok: false, reason: 'not-allowed-from-state' });
    expect(reportTransition('draft', 'submit', 'attending')).toMatchObject({ ok: false, reason: 'not-allowed-for-role' });
    expect(reportTransition('draft', 'submit', 'admin')).toMatchObject({ ok: false, reason: 'not-allowed-for-role' });
  });

  it('never leaves a locked state except to addended, and only by the system', () => {
    for (const t of REPORT_TRANSITIONS.filter((t) => isReportLocked(t.from))) {
      expect(t.to).toBe('addended');
      expect(t.actors).toEqual(['system']);
    }
    expect(isReportLocked('final')).toBe(true);
    expect(isReportLocked('addended')).toBe(true);
    expect(isReportLocked('preliminary')).toBe(false);
  });

  it('lets no user role trigger a system-only event', () => {
    for (const role of ROLES) {
      expect(reportTransition('final', 'addendum-finalized', role).ok).toBe(false);
    }
  });
});

describe('study state machine', () => {
  it('follows the report: unread → in progress → preliminary → final', () => {
    expect(studyTransition('unread', 'start-reading', 'resident')).toEqual({ ok: true, to: 'in_progress' });
    expect(studyTransition('in_progress', 'report-submitted', 'system')).toEqual({ ok: true, to: 'preliminary' });
    expect(studyTransition('preliminary', 'report-finalized', 'system')).toEqual({ ok: true, to: 'final' });
  });

  it('maps a requested target status to its event, or says why not', () => {
    expect(studyEventForTarget('unread', 'in_progress', 'attending')).toMatchObject({ ok: true, event: 'start-reading' });
    expect(studyEventForTarget('in_progress', 'unread', 'technologist')).toMatchObject({ ok: true, event: 'release' });
    expect(studyEventForTarget('in_progress', 'final', 'attending')).toMatchObject({ ok: false, reason: 'not-allowed-for-role' });
    expect(studyEventForTarget('final', 'unread', 'attending')).toMatchObject({ ok: false, reason: 'not-allowed-from-state' });
  });

  it('uses only known statuses in its table', () => {
    for (const t of STUDY_TRANSITIONS) {
      expect(STUDY_STATUSES).toContain(t.from);
      expect(STUDY_STATUSES).toContain(t.to);
    }
  });
});
