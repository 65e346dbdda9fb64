import { describe, expect, it } from 'vitest';
import { ROLES } from '../src/permissions';
import { assignmentAllowed, documentModeFor, isResidentsWork, REPORT_STATUSES, type ReportDocumentFacts } from '../src/workflow';

const ME = 'u-me';
const OTHER = 'u-other';
const base: ReportDocumentFacts = { status: 'draft', authorId: ME, assigneeId: null, isAddendum: false, finalizing: false };
const resident = { role: 'resident' as const, userId: ME };
const attending = { role: 'attending' as const, userId: ME };

describe('documentModeFor: the one document-mode rule', () => {
  it.each([
    // Residents: their own work, while it is theirs to change.
    { what: 'resident, own draft, unassigned', user: resident, facts: {}, mode: 'rw' },
    { what: 'resident, own draft, assigned to them', user: resident, facts: { assigneeId: ME }, mode: 'rw' },
    { what: 'resident, own returned report', user: resident, facts: { status: 'returned' }, mode: 'rw' },
    {
      what: "resident, someone else's draft on an assigned-to-them study",
      user: resident,
      facts: { authorId: OTHER, assigneeId: ME },
      mode: 'rw',
    },
    { what: "resident, another resident's draft, unassigned", user: resident, facts: { authorId: OTHER }, mode: 'ro' },
    {
      what: "resident, another resident's draft assigned to that resident",
      user: resident,
      facts: { authorId: OTHER, assigneeId: OTHER },
      mode: 'ro',
    },
    { what: 'resident, own draft on a study assigned to someone else', user: resident, facts: { assigneeId: OTHER }, mode: 'ro' },
    { what: 'resident, own draft without author (legacy), unassigned', user: resident, facts: { authorId: null }, mode: 'ro' },
    { what: 'resident, own preliminary (submitted)', user: resident, facts: { status: 'preliminary' }, mode: 'ro' },
    { what: 'resident, own final', user: resident, facts: { status: 'final' }, mode: 'ro' },
    { what: 'resident, own draft being finalized', user: resident, facts: { finalizing: true }, mode: 'ro' },
    { what: 'resident, addendum', user: resident, facts: { isAddendum: true }, mode: 'ro' },
    // Attendings: per the matrix (report:finalize, report:addendum).
    {
      what: "attending, a resident's preliminary",
      user: attending,
      facts: { status: 'preliminary', authorId: OTHER, assigneeId: OTHER },
      mode: 'rw',
    },
    { what: 'attending, draft of someone else', user: attending, facts: { authorId: OTHER }, mode: 'rw' },
    { what: 'attending, final', user: attending, facts: { status: 'final' }, mode: 'ro' },
    { what: 'attending, addended', user: attending, facts: { status: 'addended' }, mode: 'ro' },
    { what: 'attending, being finalized', user: attending, facts: { finalizing: true }, mode: 'ro' },
    { what: 'attending, open addendum', user: attending, facts: { isAddendum: true, authorId: OTHER }, mode: 'rw' },
    // No report:read.
    { what: 'admin', user: { role: 'admin' as const, userId: ME }, facts: {}, mode: null },
    { what: 'technologist', user: { role: 'technologist' as const, userId: ME }, facts: { assigneeId: ME }, mode: null },
  ] as const)('$what → $mode', ({ user, facts, mode }) => {
    expect(documentModeFor(user, { ...base, ...facts })).toBe(mode);
  });

  it('never gives rw on a signed report to anyone', () => {
    for (const role of ROLES) {
      for (const status of REPORT_STATUSES.filter((s) => s === 'final' || s === 'addended')) {
        for (const isAddendum of [false, true]) {
          expect(documentModeFor({ role, userId: ME }, { ...base, status, isAddendum, assigneeId: ME })).not.toBe('rw');
        }
      }
    }
  });

  it('isResidentsWork: author or assignee, never against another assignee', () => {
    expect(isResidentsWork(ME, { authorId: ME, assigneeId: null })).toBe(true);
    expect(isResidentsWork(ME, { authorId: OTHER, assigneeId: ME })).toBe(true);
    expect(isResidentsWork(ME, { authorId: ME, assigneeId: OTHER })).toBe(false);
    expect(isResidentsWork(ME, { authorId: OTHER, assigneeId: null })).toBe(false);
  });
});

describe('assignmentAllowed', () => {
  it.each([
    { what: 'resident takes an unassigned study', user: resident, from: null, to: ME, ok: true },
    { what: 'resident gives back their own study', user: resident, from: ME, to: null, ok: true },
    { what: 'resident re-sends the same assignee', user: resident, from: OTHER, to: OTHER, ok: true },
    { what: "resident takes the attending's study", user: resident, from: OTHER, to: ME, ok: false },
    { what: "resident unassigns someone else's study", user: resident, from: OTHER, to: null, ok: false },
    { what: 'resident assigns an unassigned study to someone else', user: resident, from: null, to: OTHER, ok: false },
    { what: 'resident hands their own study to someone else', user: resident, from: ME, to: OTHER, ok: false },
    { what: 'attending reassigns', user: attending, from: OTHER, to: ME, ok: true },
    { what: 'attending unassigns anyone', user: attending, from: OTHER, to: null, ok: true },
    { what: 'admin assigns anyone', user: { role: 'admin' as const, userId: ME }, from: null, to: OTHER, ok: true },
    { what: 'technologist may not assign', user: { role: 'technologist' as const, userId: ME }, from: null, to: ME, ok: false },
  ] as const)('$what → $ok', ({ user, from, to, ok }) => {
    expect(assignmentAllowed(user, from, to).ok).toBe(ok);
  });
});
