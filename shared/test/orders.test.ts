import { describe, expect, it } from 'vitest';
import { HL7_ORDER_CONTROL, isOrderPending, ORDER_STATUSES, orderTransition, priorityFromHl7 } from '../src/orders';
import { isStudyOpen, studyTransition } from '../src/workflow';

describe('order state machine', () => {
  it.each([
    ['scheduled', 'change', 'scheduled'],
    ['on_hold', 'change', 'on_hold'],
    ['scheduled', 'hold', 'on_hold'],
    ['on_hold', 'release', 'scheduled'],
    ['scheduled', 'cancel', 'cancelled'],
    ['on_hold', 'cancel', 'cancelled'],
    ['scheduled', 'images-arrived', 'arrived'],
    ['on_hold', 'images-arrived', 'arrived'],
  ] as const)('%s --%s--> %s', (from, event, to) => {
    expect(orderTransition(from, event)).toEqual({ ok: true, to });
  });

  it('nothing moves a cancelled or arrived order, and a scheduled order cannot be released', () => {
    for (const from of ['cancelled', 'arrived'] as const) {
      for (const event of ['change', 'cancel', 'hold', 'release', 'images-arrived'] as const) {
        const result = orderTransition(from, event);
        expect(result.ok, `${from} ${event}`).toBe(false);
      }
    }
    expect(orderTransition('scheduled', 'release')).toMatchObject({ ok: false, message: expect.stringContaining('scheduled') });
  });

  it('only scheduled and held orders are pending (on the modality worklist)', () => {
    expect(ORDER_STATUSES.filter(isOrderPending)).toEqual(['scheduled', 'on_hold']);
  });

  it('maps every supported HL7 order control, and nothing else', () => {
    expect(HL7_ORDER_CONTROL.NW).toBe('new');
    expect(HL7_ORDER_CONTROL.CA).toBe('cancel');
    expect(HL7_ORDER_CONTROL.XO).toBe('change');
    expect(HL7_ORDER_CONTROL.ZZ).toBeUndefined();
  });

  it.each([
    ['S', 'stat'],
    ['s', 'stat'],
    ['STAT', 'stat'],
    ['A', 'urgent'],
    ['P', 'urgent'],
    ['T', 'urgent'],
    ['R', 'routine'],
    ['', 'routine'],
    ['X', 'routine'],
  ] as const)('HL7 priority %j is %s', (code, priority) => {
    expect(priorityFromHl7(code)).toBe(priority);
  });
});

describe('scheduled studies', () => {
  it('become unread when their images arrive, only through the system, and are not open for reading before', () => {
    expect(studyTransition('scheduled', 'images-arrived', 'system')).toEqual({ ok: true, to: 'unread' });
    expect(studyTransition('scheduled', 'images-arrived', 'attending').ok).toBe(false);
    expect(studyTransition('scheduled', 'start-reading', 'attending').ok).toBe(false);
    expect(isStudyOpen('scheduled')).toBe(false);
    expect(isStudyOpen('unread')).toBe(true);
  });
});
