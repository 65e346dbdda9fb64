/** The report sentence of a measurement and the viewer link that opens its image again. */
import { describe, expect, it } from 'vitest';
import { measurementSentence, parseViewerLink, viewerLink } from '../src/measurements';

const place = { seriesNumber: 3, instanceNumber: 42, frame: 1 };
const STUDY = '3f1d2c4b-5a69-4788-9abc-def012345678';
const MEASUREMENT = 'a1b2c3d4-e5f6-4711-8abc-0123456789ab';

describe('measurement sentence', () => {
  it.each([
    [
      { tool: 'EllipticalROI', label: 'Lesion', values: { majorAxis: 23.43, minorAxis: 18.06 }, units: { length: 'mm' } },
      'Lesion: 23.4 × 18.1 mm, series 3 image 42',
    ],
    [
      { tool: 'EllipticalROI', label: '', values: { majorAxis: 10, minorAxis: 8, mean: 40.25, stdDev: 9.81 }, units: { modality: 'HU' } },
      'Region: 10.0 × 8.0 mm (mean 40.3 HU, SD 9.8 HU), series 3 image 42',
    ],
    [{ tool: 'Length', label: '  Node  ', values: { length: 7 }, units: { length: 'mm' } }, 'Node: 7.0 mm, series 3 image 42'],
    [{ tool: 'Angle', label: 'Cobb', values: { angle: 12.34 }, units: {} }, 'Cobb: 12.3°, series 3 image 42'],
    [{ tool: 'Length', label: 'Gap', values: {}, units: {} }, 'Gap: ? mm, series 3 image 42'],
  ] as const)('%o → %s', (measurement, sentence) => {
    expect(measurementSentence(measurement, place)).toBe(sentence);
  });

  it('names the frame of a multi-frame image and an unknown number as ?', () => {
    const m = { tool: 'Length', label: 'A', values: { length: 1 }, units: {} } as const;
    expect(measurementSentence(m, { seriesNumber: null, instanceNumber: 1, frame: 5 })).toBe('A: 1.0 mm, series ? image 1, frame 5');
  });
});

describe('viewer link', () => {
  it('round-trips', () => {
    const target = { studyId: STUDY, seriesInstanceUid: '1.2.3', sopInstanceUid: '1.2.3.4', frame: 2, measurementId: MEASUREMENT };
    const href = viewerLink(target);
    expect(href).toBe(`/viewer/${STUDY}?series=1.2.3&instance=1.2.3.4&frame=2&measurement=${MEASUREMENT}`);
    expect(parseViewerLink(href)).toEqual(target);
    expect(parseViewerLink(viewerLink({ ...target, frame: 1, measurementId: undefined }))).toEqual({
      ...target,
      frame: 1,
      measurementId: undefined,
    });
  });

  it.each([
    ['javascript:alert(1)'],
    ['https://evil.example/viewer/x'],
    [`//evil.example/viewer/${STUDY}?series=1.2&instance=1.2.3`],
    [`/viewer/${STUDY}`],
    [`/viewer/${STUDY}?series=1.2&instance=1.2.x`],
    [`/viewer/${STUDY}?series=1.2&instance=1.2.3&frame=0`],
    [`/viewer/${STUDY}?series=1.2&instance=1.2.3&measurement=nope`],
    [`/viewer/not-a-uuid-at-all-0000000000000000000?series=1.2&instance=1.2.3`],
    [`/viewer/${STUDY}?series=1.2&instance=1.2.3#x`],
    [`/report/${STUDY}?series=1.2&instance=1.2.3`],
  ])('refuses %s', (href) => {
    expect(parseViewerLink(href)).toBeNull();
  });
});
