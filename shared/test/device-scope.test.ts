import { describe, expect, it } from 'vitest';
import { DEVICE_SCOPES, type HeldRow, inWindow, priorsOf, pruneDeviceRows } from '../src/device-scope';
import { ROLES } from '../src/permissions';

const NOW = Date.UTC(2026, 11, 4, 12);
const hoursAgo = (h: number) => new Date(NOW - h * 3_600_000).toISOString();
const row = (id: string, over: Partial<HeldRow> = {}): HeldRow => ({
  id,
  receivedAt: hoursAgo(1),
  scope: ['assigned'],
  priorOf: [],
  openedAt: null,
  ...over,
});

describe('device scope rules', () => {
  it('gives every role settings; referrers hold nothing of the worklist', () => {
    for (const role of ROLES) expect(DEVICE_SCOPES[role]).toBeDefined();
    expect(DEVICE_SCOPES.referrer).toEqual({ assigned: [], followed: false, recentDays: 0, window: null, priorsPerStudy: 0 });
    expect(DEVICE_SCOPES.attending.window).toEqual({ hours: 48, statuses: ['unread'] });
  });

  it.each([
    ['unread CT of the last 48 h, CT reader', { status: 'unread', receivedAt: hoursAgo(47), modalities: ['CT'] }, ['CT'], true],
    ['any modality when the setting is null', { status: 'unread', receivedAt: hoursAgo(2), modalities: ['XA'] }, null, true],
    ['another modality', { status: 'unread', receivedAt: hoursAgo(2), modalities: ['MR'] }, ['CT'], false],
    ['no modalities at all', { status: 'unread', receivedAt: hoursAgo(2), modalities: ['CT'] }, [], false],
    ['older than 48 h', { status: 'unread', receivedAt: hoursAgo(49), modalities: ['CT'] }, null, false],
    ['already being read', { status: 'in_progress', receivedAt: hoursAgo(2), modalities: ['CT'] }, null, false],
  ] as const)('attending window: %s', (_name, study, modalities, expected) => {
    expect(inWindow(DEVICE_SCOPES.attending, modalities, study, NOW)).toBe(expected);
  });

  it('has no window for admins', () => {
    expect(inWindow(DEVICE_SCOPES.admin, null, { status: 'unread', receivedAt: hoursAgo(1), modalities: ['CT'] }, NOW)).toBe(false);
  });
});

describe('priorsOf', () => {
  const study = (id: string, patient: string, h: number) => ({ id, patient, receivedAt: hoursAgo(h) });

  it("takes the patient's studies received before the anchor, newest first, at most N", () => {
    const anchor = study('a', 'p1', 1);
    const candidates = [
      anchor,
      study('later', 'p1', 0),
      ...[2, 3, 4, 5, 6, 7, 8].map((h) => study(`old${h}`, 'p1', h)),
      study('other', 'p2', 5),
    ];
    const priors = priorsOf([anchor], candidates, 5);
    expect([...priors.keys()].sort()).toEqual(['old2', 'old3', 'old4', 'old5', 'old6']);
    expect(priors.get('old2')).toEqual(['a']);
  });

  it('lists every anchor a prior belongs to, and nothing when N is 0', () => {
    const a = study('a', 'p1', 1);
    const b = study('b', 'p1', 2);
    const old = study('old', 'p1', 10);
    expect(priorsOf([a, b], [a, b, old], 5).get('old')).toEqual(['a', 'b']);
    expect(priorsOf([a, b], [a, b, old], 5).get('b')).toEqual(['a']);
    expect(priorsOf([a], [a, old], 0).size).toBe(0);
  });

  it('breaks equal arrival times by id, so the answer does not depend on order', () => {
    const a = study('m', 'p1', 1);
    const twin = study('k', 'p1', 1);
    expect(priorsOf([a], [twin, a], 5).get('k')).toEqual(['m']);
    expect(priorsOf([twin], [a, twin], 5).has('m')).toBe(false);
  });
});

describe('pruneDeviceRows', () => {
  it('drops window rows once older than the window, keeps them before', () => {
    const rows = [
      row('fresh', { scope: ['window'], receivedAt: hoursAgo(47) }),
      row('stale', { scope: ['window'], receivedAt: hoursAgo(49) }),
    ];
    const { keep, drop } = pruneDeviceRows(rows, 'attending', NOW);
    expect(keep.map((r) => r.id)).toEqual(['fresh']);
    expect(drop).toEqual(['stale']);
  });

  it('drops recent rows opened longer ago than the recent days, or never', () => {
    const rows = [
      row('six-days', { scope: ['recent'], openedAt: hoursAgo(6 * 24) }),
      row('eight-days', { scope: ['recent'], openedAt: hoursAgo(8 * 24) }),
      row('never', { scope: ['recent'], openedAt: null }),
    ];
    expect(pruneDeviceRows(rows, 'attending', NOW).drop).toEqual(['eight-days', 'never']);
    expect(pruneDeviceRows(rows, 'technologist', NOW).drop).toEqual(['six-days', 'eight-days', 'never']);
  });

  it('keeps a row for a reason that has not lapsed, with the lapsed one removed', () => {
    const { keep } = pruneDeviceRows([row('both', { scope: ['followed', 'window'], receivedAt: hoursAgo(100) })], 'attending', NOW);
    expect(keep).toEqual([expect.objectContaining({ id: 'both', scope: ['followed'] })]);
  });

  it('drops priors whose anchors are gone, including anchors that lapse in the same pass', () => {
    const rows = [
      row('anchor', { scope: ['window'], receivedAt: hoursAgo(2) }),
      row('old-anchor', { scope: ['window'], receivedAt: hoursAgo(60) }),
      row('prior-kept', { scope: ['prior'], priorOf: ['anchor', 'missing'] }),
      row('prior-orphan', { scope: ['prior'], priorOf: ['old-anchor'] }),
      row('prior-of-nothing', { scope: ['prior'], priorOf: ['deleted-elsewhere'] }),
      row('prior-of-prior', { scope: ['prior'], priorOf: ['prior-kept'] }),
    ];
    const { keep, drop } = pruneDeviceRows(rows, 'resident', NOW);
    expect(keep.map((r) => r.id)).toEqual(['anchor', 'prior-kept']);
    expect(drop).toEqual(['old-anchor', 'prior-orphan', 'prior-of-nothing', 'prior-of-prior']);
  });

  it('keeps assigned and followed rows (the feed ends those), drops rows stored without reasons', () => {
    const rows = [row('mine'), row('followed', { scope: ['followed'] }), { id: 'legacy', receivedAt: hoursAgo(1) }];
    const { keep, drop } = pruneDeviceRows(rows, 'attending', NOW);
    expect(keep.map((r) => r.id)).toEqual(['mine', 'followed']);
    expect(drop).toEqual(['legacy']);
  });

  it('returns the same row object when nothing lapsed', () => {
    const held = row('same', { scope: ['assigned', 'window'], receivedAt: hoursAgo(3) });
    expect(pruneDeviceRows([held], 'attending', NOW).keep[0]).toBe(held);
  });
});
