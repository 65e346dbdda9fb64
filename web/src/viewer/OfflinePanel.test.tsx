/** The study bar's offline controls for each state of the study's device copy (the e2e suite reads these labels and test ids). */
import { act } from 'react';
import { describe, expect, it, vi } from 'vitest';
import type { WorklistStudy } from '../api/types';
import type { OfflineStudyRow } from '../device/db';
import { click, render } from '../test/render';
import { OfflinePanel } from './OfflinePanel';
import type { OfflineStudies } from './offline-studies';

const ROW = { id: 's1', studyInstanceUid: '1.2.3', modalities: ['CT'], studyDate: '20260101' } as WorklistStudy;

function deviceCopy(state: OfflineStudyRow['state'], doneFrames: number): OfflineStudyRow {
  return {
    id: 's1',
    studyInstanceUid: '1.2.3',
    label: 'CT · 20260101',
    state,
    totalFrames: 10,
    doneFrames,
    bytes: 2 * 1024 * 1024,
    createdAt: 0,
    lastOpenedAt: 0,
    iv: new Uint8Array(12),
    data: new ArrayBuffer(0),
  };
}

function fakeOfflineStudies(copy: OfflineStudyRow | undefined) {
  let current = copy;
  return {
    get: vi.fn(async () => current),
    isDownloading: vi.fn(() => false),
    remove: vi.fn(async () => {
      current = undefined;
    }),
    download: vi.fn(),
  };
}

const settle = () =>
  act(async () => {
    await new Promise((resolve) => setTimeout(resolve, 0));
  });

function renderPanel(offlineStudies: ReturnType<typeof fakeOfflineStudies>, online = true) {
  return render(
    <OfflinePanel
      offlineStudies={offlineStudies as unknown as OfflineStudies}
      studyId="s1"
      row={ROW}
      source="online"
      online={online}
      keepAssigned={{ enabled: false, toggle: () => {}, status: null }}
      actions={<a href="/report/s1">Open report</a>}
    />,
  );
}

describe('OfflinePanel', () => {
  it('offers the download for a study not on the device', async () => {
    const view = renderPanel(fakeOfflineStudies(undefined));
    await settle();
    expect(view.container.querySelector('[data-testid="source"]')?.textContent).toBe('Streaming from the archive');
    expect(view.buttons()).toEqual(['Make available offline']);
    expect(view.container.querySelector('[data-testid="offline-state"]')).toBeNull();
    expect(view.container.textContent).toContain('Keep my assigned studies offline');
    expect(view.container.querySelector('a')?.textContent).toBe('Open report');
    view.unmount();
  });

  it('offers to resume a paused download and to remove what is stored', async () => {
    const view = renderPanel(fakeOfflineStudies(deviceCopy('paused', 4)));
    await settle();
    expect(view.buttons()).toEqual(['Resume offline download', 'Remove from device']);
    expect(view.container.querySelector('[data-testid="offline-state"]')?.textContent).toBe('Paused at 4/10 images');
    view.unmount();
  });

  it('shows a complete copy, and removes it (online only)', async () => {
    const offlineStudies = fakeOfflineStudies(deviceCopy('complete', 10));
    const view = renderPanel(offlineStudies);
    await settle();
    expect(view.container.querySelector('[data-testid="offline-state"]')?.textContent).toBe('Available offline');
    expect(view.container.textContent).toContain('2.0 MB');
    click(view.button('Remove from device'));
    await settle();
    expect(offlineStudies.remove).toHaveBeenCalledWith('s1');
    expect(view.buttons()).toEqual(['Make available offline']);
    view.unmount();

    const offline = renderPanel(fakeOfflineStudies(deviceCopy('complete', 10)), false);
    await settle();
    expect(offline.buttons()).toEqual([]);
    offline.unmount();
  });
});
