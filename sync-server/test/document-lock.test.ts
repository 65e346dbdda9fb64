/**
 * The finalization lock's state on its own (src/lock.ts): which transitions exist, where a client
 * update goes in each state, and — by a seeded random walk — that an update held while a lock is
 * decided is handed back exactly once, whatever happens (LOCK-2 never drops one).
 */
import * as prng from 'lib0/prng';
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { DocumentStateError } from '../src/document-errors';
import { DocumentLock, type HeldUpdate, type LockKind } from '../src/lock';
import type { Peer } from '../src/peer';
import type { LockRecord } from '../src/store';

const peer: Peer = { id: 1, userId: 'u1', userName: 'Dr One', role: 'attending', mode: 'rw', send() {}, close() {} };
const record = (): LockRecord => ({ lockedBy: 'att', lockedAt: new Date(0), stateVector: new Uint8Array([0]) });
const NEVER = 60_000;
const noop = () => {};

const locks: DocumentLock[] = [];
afterEach(() => {
  for (const l of locks.splice(0)) l.destroy();
});

function fresh(text = 'signed'): { doc: Y.Doc; lock: DocumentLock } {
  const doc = new Y.Doc();
  doc.getText('body').insert(0, text);
  const lock = new DocumentLock(doc);
  locks.push(lock);
  return { doc, lock };
}

/** An update that inserts `text` at the end of the body, made on a copy of `doc`. */
function edit(doc: Y.Doc, text: string): Uint8Array {
  const copy = new Y.Doc();
  Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc));
  const before = Y.encodeStateVector(copy);
  copy.getText('body').insert(copy.getText('body').length, text);
  return Y.encodeStateAsUpdate(copy, before);
}

/** Drives a lock into `kind` by the public transitions. */
function into(kind: LockKind, lock: DocumentLock): void {
  if (kind === 'locking') lock.beginLocking();
  if (kind === 'frozen') lock.freeze('other', NEVER, noop);
  if (kind === 'locked') lock.lock(record());
}

describe('DocumentLock', () => {
  it.each([
    ['open', false, null],
    ['locking', true, null],
    ['frozen', true, null],
    ['locked', false, 'att'],
  ] as const)('LOCK-2/LOCK-5: in state %s a client update is held: %s; the lock record is by %s', (kind, holds, lockedBy) => {
    const { doc, lock } = fresh();
    into(kind, lock);
    expect(lock.kind).toBe(kind);
    expect(lock.hold(peer, edit(doc, 'x'))).toBe(holds);
    expect(lock.record?.lockedBy ?? null).toBe(lockedBy);
  });

  it('LOCK-2: a lock attempt that does not lock hands back what waited, in order, and is open again', () => {
    const { doc, lock } = fresh();
    lock.beginLocking();
    const first = edit(doc, ' one');
    const second = edit(doc, ' two');
    lock.hold(peer, first);
    lock.hold(peer, second);
    expect(lock.abandon().map((h) => h.update)).toEqual([first, second]);
    expect(lock.kind).toBe('open');
    expect(lock.abandon()).toEqual([]);
  });

  it('LOCK-2/LOCK-5: a lock that is stored hands back what waited, to be kept as late edits', () => {
    const { doc, lock } = fresh();
    lock.beginLocking();
    const waited = edit(doc, ' late');
    lock.hold(peer, waited);
    expect(lock.lock(record()).map((h) => h.update)).toEqual([waited]);
    expect(lock.kind).toBe('locked');
    expect(lock.takeLateEdit(waited)).toBe(true);
  });

  it('SCALE-4: a lock cannot begin while another instance is locking; it can begin again once that one releases', () => {
    const { lock } = fresh();
    lock.freeze('other', NEVER, noop);
    expect(() => lock.beginLocking()).toThrow(DocumentStateError);
    expect(lock.thaw('not-that-one')).toBeNull();
    expect(lock.thaw('other')).toEqual([]);
    lock.beginLocking();
    expect(lock.kind).toBe('locking');
  });

  it('SCALE-4: a freeze is ignored while this instance locks or once locked', () => {
    const { lock } = fresh();
    lock.beginLocking();
    expect(lock.freeze('other', NEVER, noop)).toBe(false);
    expect(lock.kind).toBe('locking');
    lock.lock(record());
    expect(lock.freeze('other', NEVER, noop)).toBe(false);
    expect(lock.kind).toBe('locked');
  });

  it('SCALE-4: a second freeze keeps what waited under the first; the locker locking elsewhere hands it all back', () => {
    const { doc, lock } = fresh();
    lock.freeze('first', NEVER, noop);
    const a = edit(doc, ' a');
    lock.hold(peer, a);
    lock.freeze('second', NEVER, noop);
    const b = edit(doc, ' b');
    lock.hold(peer, b);
    expect(lock.frozenBy).toBe('second');
    expect(lock.lock(record()).map((h) => h.update)).toEqual([a, b]);
  });

  it('SCALE-4: a locker that goes silent makes the frozen document ask (the callback), and rearm asks again', async () => {
    const { lock } = fresh();
    let asked = 0;
    lock.freeze('silent', 5, () => asked++);
    await expect.poll(() => asked).toBe(1);
    lock.rearm('silent', 5, () => asked++);
    await expect.poll(() => asked).toBe(2);
    lock.rearm('another', 5, () => asked++);
    lock.thaw('silent');
    // After thawing no timer is left to fire.
    await new Promise((resolve) => setImmediate(resolve));
    expect(asked).toBe(2);
  });

  it('LOCK-6: a late edit is kept once; a replay, an edit another instance kept, and an empty update are not kept', () => {
    const { doc, lock } = fresh();
    lock.lock(record());
    const late = edit(doc, ' after signing');
    expect(lock.takeLateEdit(late)).toBe(true);
    expect(lock.takeLateEdit(late)).toBe(false);
    const elsewhere = edit(doc, ' kept by B');
    lock.rememberLateEdit(elsewhere);
    expect(lock.takeLateEdit(elsewhere)).toBe(false);
    expect(lock.takeLateEdit(Y.encodeStateAsUpdate(new Y.Doc()))).toBe(false);
    expect(lock.takeLateEdit(Y.encodeStateAsUpdate(doc))).toBe(false);
  });

  it('LOCK-4/LOCK-6: a lock restored at load remembers the late edits stored before the restart', () => {
    const { doc, lock } = fresh();
    const stored = edit(doc, ' stored before restart');
    lock.restore(record(), [stored, new Uint8Array([0xff, 0xff])]);
    expect(lock.kind).toBe('locked');
    expect(lock.takeLateEdit(stored)).toBe(false);
    expect(lock.takeLateEdit(edit(doc, ' new'))).toBe(true);
  });

  it('LOCK-7: unlock opens a locked document, after which updates are no longer late edits; unlocking an open one is refused', () => {
    const { doc, lock } = fresh();
    expect(lock.unlock()).toBe(false);
    lock.lock(record());
    expect(lock.unlock()).toBe(true);
    expect(lock.kind).toBe('open');
    expect(lock.takeLateEdit(edit(doc, ' x'))).toBe(false);
  });

  it.each([1, 2, 3, 4, 5, 6, 7, 8])('LOCK-2: seed %i: every held update is handed back exactly once over a random walk', (seed) => {
    const gen = prng.create(seed);
    const { doc, lock } = fresh();
    const sent: Uint8Array[] = [];
    const handedBack: HeldUpdate[] = [];
    for (let step = 0; step < 300; step++) {
      switch (prng.int32(gen, 0, 7)) {
        case 0: {
          const update = edit(doc, `${step}`);
          if (lock.hold(peer, update)) sent.push(update);
          break;
        }
        case 1:
          if (lock.kind === 'open') lock.beginLocking();
          break;
        case 2:
          handedBack.push(...lock.abandon());
          break;
        case 3:
          if (lock.kind !== 'locked') handedBack.push(...lock.lock(record()));
          break;
        case 4:
          lock.freeze(prng.oneOf(gen, ['a', 'b']), NEVER, noop);
          break;
        case 5:
          handedBack.push(...(lock.thaw(prng.oneOf(gen, ['a', 'b'])) ?? []));
          break;
        case 6:
          lock.unlock();
          break;
        default: {
          const update = edit(doc, `h${step}`);
          if (lock.hold(peer, update)) sent.push(update);
        }
      }
    }
    handedBack.push(...lock.abandon());
    if (lock.kind === 'frozen') handedBack.push(...(lock.thaw(lock.frozenBy!) ?? []));
    expect(handedBack.map((h) => h.update)).toEqual(sent);
  });
});
