import { afterEach, describe, expect, it } from 'vitest';
import { type Rendered, render } from '../test/render';
import { pendingText, StatusIndicator, type StatusIndicatorProps } from './StatusIndicator';

const base: StatusIndicatorProps = { link: 'live', pending: 0, lastSavedAt: null, lockedAt: null, loaded: true };
let view: Rendered | null = null;
afterEach(() => {
  view?.unmount();
  view = null;
});

const text = (testId: string) => view!.container.querySelector(`[data-testid="${testId}"]`)!.textContent;

describe('StatusIndicator', () => {
  it('shows live with nothing pending', () => {
    view = render(<StatusIndicator {...base} />);
    expect(text('report-link')).toBe('Live');
    expect(text('report-pending')).toBe('All changes on the server');
    expect(view.container.querySelector('[data-testid="report-status"]')!.getAttribute('data-link')).toBe('live');
  });

  it('shows offline with the count of changes the server does not have', () => {
    view = render(<StatusIndicator {...base} link="offline" pending={12} />);
    expect(text('report-link')).toBe('Offline');
    expect(text('report-pending')).toBe('12 changes not yet on the server');
    expect(view.container.querySelector('[data-testid="report-pending"]')!.getAttribute('data-count')).toBe('12');
  });

  it('shows syncing and a singular change', () => {
    view = render(<StatusIndicator {...base} link="syncing" pending={1} />);
    expect(text('report-link')).toBe('Syncing…');
    expect(text('report-pending')).toBe('1 change not yet on the server');
  });

  it('says when the device has never compared with the server', () => {
    view = render(<StatusIndicator {...base} link="offline" pending={null} />);
    expect(text('report-pending')).toBe('Not yet compared with the server');
  });

  it('warns that changes made after signing were not applied', () => {
    view = render(<StatusIndicator {...base} pending={3} lockedAt="2026-11-28T10:00:00.000Z" />);
    expect(text('report-pending')).toBe('3 changes not applied: the report was signed');
    expect(view.container.querySelector('.report-pending.warn')).not.toBeNull();
  });

  it('shows why the report turned read-only and warns that unsent changes were not applied', () => {
    view = render(<StatusIndicator {...base} pending={2} readOnlyReason="Read-only: submitted for review" />);
    expect(text('report-read-only')).toBe('Read-only: submitted for review');
    expect(text('report-pending')).toBe('2 changes not applied: the report became read-only');
    expect(view.container.querySelector('.report-pending.warn')).not.toBeNull();
    view.rerender(<StatusIndicator {...base} pending={0} readOnlyReason="Read-only: submitted for review" />);
    expect(text('report-pending')).toBe('All changes on the server');
  });

  it('shows the last saved time, and opening before the device copy is read', () => {
    const savedAt = new Date('2026-11-28T10:11:12Z').getTime();
    view = render(<StatusIndicator {...base} lastSavedAt={savedAt} />);
    expect(text('report-saved')).toBe(`Last saved ${new Date(savedAt).toLocaleTimeString()}`);
    view.rerender(<StatusIndicator {...base} loaded={false} lastSavedAt={null} />);
    expect(text('report-link')).toBe('Opening…');
    expect(text('report-saved')).toBe('Not saved from this device yet');
  });

  it('says so while keystrokes are not yet committed on the device', () => {
    view = render(<StatusIndicator {...base} onDevice={false} />);
    expect(text('report-saved')).toContain('storing on this device');
    expect(view.container.querySelector('[data-testid="report-saved"]')!.getAttribute('data-on-device')).toBe('false');
    view.rerender(<StatusIndicator {...base} onDevice />);
    expect(text('report-saved')).not.toContain('storing on this device');
  });

  it('pendingText covers every case', () => {
    expect(pendingText(0, null)).toBe('All changes on the server');
    expect(pendingText(2, null)).toBe('2 changes not yet on the server');
    expect(pendingText(null, '2026-11-28T10:00:00Z')).toBe('Not yet compared with the server');
  });
});
