import { describe, expect, it } from 'vitest';
import { documentModeFor, isFinalizing } from '../src/workflow';

const TTL = 60_000;
const now = Date.parse('2026-01-05T12:00:00Z');

describe('isFinalizing: the finalize claim as a named state', () => {
  it('is finalizing while a claim younger than its time to live stands', () => {
    expect(isFinalizing({ finalizingAt: null }, TTL, now)).toBe(false);
    expect(isFinalizing({ finalizingAt: new Date(now - 1_000) }, TTL, now)).toBe(true);
    expect(isFinalizing({ finalizingAt: new Date(now - 1_000).toISOString() }, TTL, now)).toBe(true);
  });

  it('a claim as old as its time to live was left by a crashed finalize and no longer stands', () => {
    expect(isFinalizing({ finalizingAt: new Date(now - TTL + 1) }, TTL, now)).toBe(true);
    expect(isFinalizing({ finalizingAt: new Date(now - TTL) }, TTL, now)).toBe(false);
  });

  it('a finalizing report opens read-only even for the attending who could edit it', () => {
    const attending = { role: 'attending' as const, userId: 'a' };
    const facts = { status: 'preliminary' as const, authorId: 'r', assigneeId: null, isAddendum: false };
    const finalizing = isFinalizing({ finalizingAt: new Date(now) }, TTL, now);
    expect(documentModeFor(attending, { ...facts, finalizing })).toBe('ro');
    expect(documentModeFor(attending, { ...facts, finalizing: false })).toBe('rw');
  });
});
