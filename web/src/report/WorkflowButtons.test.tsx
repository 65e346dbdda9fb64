import type { ReportStatus, Role } from '@pacs/shared';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { click, type Rendered, render, type } from '../test/render';
import { WorkflowButtons } from './WorkflowButtons';

let view: Rendered | null = null;
afterEach(() => {
  view?.unmount();
  view = null;
});

const show = (role: Role, status: ReportStatus, extra: { addendum?: boolean; online?: boolean } = {}) => {
  view?.unmount();
  view = render(<WorkflowButtons userRole={role} status={status} online={extra.online ?? true} addendum={extra.addendum} />);
  return view.buttons();
};

describe('WorkflowButtons per role', () => {
  it('resident: submit preliminary on draft and returned reports only', () => {
    expect(show('resident', 'draft')).toEqual(['Submit preliminary', 'Download PDF']);
    expect(show('resident', 'returned')).toEqual(['Submit preliminary', 'Download PDF']);
    expect(show('resident', 'preliminary')).toEqual(['Download PDF']);
    expect(show('resident', 'final')).toEqual(['Download PDF']);
  });

  it('attending: sign on draft/preliminary/returned, return only a preliminary report', () => {
    expect(show('attending', 'draft')).toEqual(['Sign and finalize', 'Download PDF']);
    expect(show('attending', 'preliminary')).toEqual(['Sign and finalize', 'Return to resident', 'Download PDF']);
    expect(show('attending', 'returned')).toEqual(['Sign and finalize', 'Download PDF']);
  });

  it('after final: add addendum for attendings, PDF for both', () => {
    expect(show('attending', 'final')).toEqual(['Add addendum', 'Download PDF']);
    expect(show('attending', 'addended')).toEqual(['Add addendum', 'Download PDF']);
    expect(show('resident', 'addended')).toEqual(['Download PDF']);
  });

  it('addendum drafts: only the attending signs them', () => {
    expect(show('attending', 'draft', { addendum: true })).toEqual(['Sign addendum']);
    expect(show('resident', 'draft', { addendum: true })).toEqual([]);
  });

  it('roles without report permissions get nothing', () => {
    expect(show('admin', 'draft')).toEqual([]);
    expect(show('technologist', 'final')).toEqual([]);
  });

  it('offline: actions are shown but disabled', () => {
    show('attending', 'preliminary', { online: false });
    expect(view!.button('Sign and finalize').disabled).toBe(true);
    expect(view!.button('Return to resident').disabled).toBe(true);
  });

  it('calls the handlers; return asks for a comment first', () => {
    const onSubmit = vi.fn();
    const onFinalize = vi.fn();
    const onReturn = vi.fn();
    view = render(<WorkflowButtons userRole="resident" status="draft" online onSubmit={onSubmit} />);
    click(view.button('Submit preliminary'));
    expect(onSubmit).toHaveBeenCalledOnce();
    view.rerender(<WorkflowButtons userRole="attending" status="preliminary" online onFinalize={onFinalize} onReturn={onReturn} />);
    click(view.button('Sign and finalize'));
    expect(onFinalize).toHaveBeenCalledOnce();
    click(view.button('Return to resident'));
    expect(view.button('Send back').disabled).toBe(true);
    type(view.container.querySelector('textarea')!, '  Please describe the nodule size.  ');
    click(view.button('Send back'));
    expect(onReturn).toHaveBeenCalledWith('Please describe the nodule size.');
    expect(view.buttons()).toContain('Return to resident');
  });
});
