import { describe, expect, it } from 'vitest';
import { prefetchReach } from './config';
import { cineFrameRate, type DicomJson, layoutStudy, sameOrientation, sliceLocationLabel } from './dicom-json';
import { actionForKey, CT_PRESETS, PRIMARY_TOOLS, SHORTCUT_HELP } from './shortcuts';
import { followIndex, makeLink, nearestIndex } from './stack-link';

function slice(series: string, n: number, z: number, iop = [1, 0, 0, 0, 1, 0]): DicomJson {
  return {
    '0020000D': { vr: 'UI', Value: ['1.2.3'] },
    '0020000E': { vr: 'UI', Value: [series] },
    '00080018': { vr: 'UI', Value: [`${series}.${n}`] },
    '00200013': { vr: 'IS', Value: [n] },
    '00200032': { vr: 'DS', Value: [-100, -100, z] },
    '00200037': { vr: 'DS', Value: iop },
  };
}

describe('keyboard shortcuts', () => {
  it('maps scroll keys, tools, presets (CT only) and view actions', () => {
    expect(actionForKey('ArrowDown', { ct: false })).toEqual({ type: 'scroll', delta: 1 });
    expect(actionForKey('PageUp', { ct: false })).toEqual({ type: 'scroll', delta: -10 });
    expect(actionForKey('l', { ct: false })).toEqual({ type: 'tool', tool: 'Length' });
    expect(actionForKey('a', { ct: false })).toEqual({ type: 'tool', tool: 'Angle' });
    expect(actionForKey('e', { ct: false })).toEqual({ type: 'tool', tool: 'EllipticalROI' });
    expect(actionForKey('2', { ct: true })).toEqual({ type: 'preset', name: 'lung' });
    expect(actionForKey('2', { ct: false })).toBeNull();
    expect(actionForKey('t', { ct: false })).toEqual({ type: 'rotate' });
    expect(actionForKey('h', { ct: false })).toEqual({ type: 'flipH' });
    expect(actionForKey('c', { ct: false })).toEqual({ type: 'cine' });
    expect(actionForKey('?', { ct: false })).toEqual({ type: 'help' });
    expect(actionForKey('R', { ct: false })).toBeNull();
    expect(actionForKey('x', { ct: false })).toBeNull();
  });

  it('gives every tool its own key and lists every key in the help', () => {
    const keys = PRIMARY_TOOLS.map((t) => t.key);
    expect(new Set(keys).size).toBe(keys.length);
    for (const key of keys) expect(actionForKey(key, { ct: true })?.type).toBe('tool');
    const help = SHORTCUT_HELP.map((h) => h.keys).join(' ');
    for (const key of [...keys, 'I', 'T', 'H', 'V', 'C', 'R', '?']) expect(help.toUpperCase()).toContain(key.toUpperCase());
    expect(Object.keys(CT_PRESETS)).toEqual(['brain', 'lung', 'bone', 'abdomen']);
  });
});

describe('slice position, orientation and cine rate', () => {
  it('labels the slice position from SliceLocation or the position along the normal', () => {
    expect(sliceLocationLabel(slice('1.1', 1, -12.5))).toBe('-12.5 mm');
    expect(sliceLocationLabel({ ...slice('1.1', 1, -12.5), '00201041': { vr: 'DS', Value: [27.5] } })).toBe('27.5 mm');
    expect(sliceLocationLabel({})).toBe('');
  });

  it('links only series of the same orientation that have positions', () => {
    const study = layoutStudy([
      slice('1.1', 1, 0),
      slice('1.1', 2, 5),
      slice('1.2', 1, 0),
      slice('1.2', 2, 4),
      slice('1.3', 1, 0, [1, 0, 0, 0, 0, -1]),
      slice('1.3', 2, 5, [1, 0, 0, 0, 0, -1]),
    ]);
    const [axialA, axialB, coronal] = study.series as [never, never, never];
    expect(sameOrientation(axialA, axialB)).toBe(true);
    expect(sameOrientation(axialA, coronal)).toBe(false);
    const noPosition = layoutStudy([{ ...slice('2.1', 1, 0), '00200032': { vr: 'DS', Value: [] } }]).series[0]!;
    expect(sameOrientation(axialA, noPosition)).toBe(false);
  });

  it('leaves objects without pixels out of the stacks: the archived report PDF, SR, key objects, presentation states', () => {
    const withClass = (series: string, modality: string, sopClass: string): DicomJson => ({
      ...slice(series, 1, 0),
      '00080060': { vr: 'CS', Value: [modality] },
      '00080016': { vr: 'UI', Value: [sopClass] },
    });
    const ct = '1.2.840.10008.5.1.4.1.1.2';
    const study = layoutStudy([
      withClass('9.1', 'DOC', '1.2.840.10008.5.1.4.1.1.104.1'),
      withClass('1.1', 'CT', ct),
      withClass('9.2', 'SR', '1.2.840.10008.5.1.4.1.1.88.22'),
      withClass('9.3', 'KO', '1.2.840.10008.5.1.4.1.1.88.59'),
      withClass('9.4', 'PR', '1.2.840.10008.5.1.4.1.1.11.1'),
      // A document under an image modality's name is still a document.
      withClass('9.5', 'OT', '1.2.840.10008.5.1.4.1.1.104.2'),
    ]);
    expect(study.series.map((s) => s.seriesInstanceUid)).toEqual(['1.1']);
    expect(study.totalFrames).toBe(1);
    const documentsOnly = layoutStudy([withClass('9.1', 'DOC', '1.2.840.10008.5.1.4.1.1.104.1')]);
    expect(documentsOnly.series).toEqual([]);
    expect(documentsOnly.studyInstanceUid).toBe('1.2.3');
  });

  it('plays cine at the recommended rate, else from FrameTime, else the fallback', () => {
    expect(cineFrameRate({ '00082144': { vr: 'IS', Value: [30] } })).toBe(30);
    expect(cineFrameRate({ '00181063': { vr: 'DS', Value: [40] } })).toBe(25);
    expect(cineFrameRate({}, 12)).toBe(12);
  });
});

describe('linked scrolling', () => {
  // Leader 5 mm slices from 50 down to 0 (head first), follower 4 mm slices from 60 down to 0.
  const leader = [50, 45, 40, 35, 30, 25, 20, 15, 10, 5, 0];
  const follower = [60, 56, 52, 48, 44, 40, 36, 32, 28, 24, 20, 16, 12, 8, 4, 0];

  it('finds the nearest position', () => {
    expect(nearestIndex(follower, 41)).toBe(5);
    expect(nearestIndex(follower, 1000)).toBe(0);
    expect(nearestIndex([undefined, 3], 0)).toBe(1);
    expect(nearestIndex([], 0)).toBe(-1);
  });

  it('keeps the offset the stacks had when linked, in both directions', () => {
    // linked with leader at 40 mm (index 2) and follower at 48 mm (index 3): offset +8 mm
    const link = makeLink(leader, 2, follower, 3)!;
    expect(link.offset).toBe(8);
    // leader to 20 mm → follower to 28 mm
    expect(followIndex(link, leader, 6, follower, 1)).toBe(follower.indexOf(28));
    // follower to 12 mm → leader to 4 mm → nearest 5 mm
    expect(followIndex(link, follower, follower.indexOf(12), leader, -1)).toBe(leader.indexOf(5));
    expect(makeLink([undefined], 0, follower, 0)).toBeNull();
  });
});

describe('stack prefetch reach', () => {
  const MB = 2 ** 20;
  it('takes the whole stack when it fits in 60 % of the decoded-image budget, shared by the viewports', () => {
    // 384 MB budget, 512×512 Int16 CT (0.5 MB): 460 images fit, so a 300-image series is prefetched whole.
    expect(prefetchReach(384 * MB, 0.5 * MB, 1, 300)).toBe(300);
    // Two viewports: 230 each, so 300 images no longer fit: a window of 115 on each side.
    expect(prefetchReach(384 * MB, 0.5 * MB, 2, 300)).toBe(115);
  });
  it('keeps a window within the share when the stack does not fit', () => {
    const reach = prefetchReach(128 * MB, 0.5 * MB, 1, 600);
    expect(2 * reach * 0.5 * MB).toBeLessThanOrEqual(0.6 * 128 * MB);
    expect(reach).toBeGreaterThan(50);
  });
  it('always looks at least two images ahead, and nowhere without a size', () => {
    expect(prefetchReach(8 * MB, 12 * MB, 2, 40)).toBe(2);
    expect(prefetchReach(384 * MB, 0, 1, 300)).toBe(0);
  });
});
