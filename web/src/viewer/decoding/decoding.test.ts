/** The pure parts of the decoding fixes (the whole path is checked in the browser by e2e/corpus.e2e.ts). */
import { describe, expect, it } from 'vitest';
import type { DicomJson } from '../dicom-json';
import { lutEntries, pendingPaletteData, resolvePaletteData } from './bulkdata';
import { frameNumber, instanceKey, isServerFailure } from './frames';
import { jpegLsPlanar } from './jpegls';
import { normalizeForImageLoader } from './metadata';

/** A JPEG-LS header: SOI, SOF55 with `components`, SOS with `inScan` components and the given ILV. */
function jlsHeader(components: number, inScan: number, ilv: number): Uint8Array {
  const sof = [0xff, 0xf7, 0x00, 8 + 3 * components, 8, 0, 16, 0, 16, components, ...Array(3 * components).fill(1)];
  const sos = [0xff, 0xda, 0x00, 6 + 2 * inScan, inScan, ...Array(2 * inScan).fill(1), 0 /* NEAR */, ilv, 0];
  return new Uint8Array([0xff, 0xd8, ...sof, ...sos, 0, 0, 0, 0]);
}

describe('decoding fixes', () => {
  it('fills an absent Modality and drops a default or unknown VOI LUT Function, keeping the input untouched', () => {
    const input: DicomJson = { '00281056': { vr: 'CS', Value: ['LINEAR'] } };
    const out = normalizeForImageLoader(input);
    expect(out['00080060']).toEqual({ vr: 'CS', Value: [''] });
    expect(out['00281056']).toBeUndefined();
    expect(input['00281056']).toBeDefined();
    const sigmoid: DicomJson = { '00080060': { vr: 'CS', Value: ['MR'] }, '00281056': { vr: 'CS', Value: ['SIGMOID'] } };
    expect(normalizeForImageLoader(sigmoid)).toBe(sigmoid);
  });

  it('recognises a planar (ILV 0) colour JPEG-LS codestream and nothing else', () => {
    expect(jpegLsPlanar(jlsHeader(3, 1, 0))).toBe(true);
    expect(jpegLsPlanar(jlsHeader(3, 3, 2))).toBe(false);
    expect(jpegLsPlanar(jlsHeader(3, 3, 1))).toBe(false);
    expect(jpegLsPlanar(jlsHeader(1, 1, 0))).toBe(false);
    expect(jpegLsPlanar(new Uint8Array([1, 2, 3, 4, 5, 6]))).toBe(false);
  });

  it('resolves palette tables given as bulk data or inline binary into 16-bit entries', async () => {
    const instance: DicomJson = {
      '00280004': { vr: 'CS', Value: ['PALETTE COLOR'] },
      '00281201': { vr: 'OW', BulkDataURI: 'http://x/bulk/red' },
      '00281202': { vr: 'OW', InlineBinary: btoa(String.fromCharCode(1, 0, 0, 1)) },
      '00281203': { vr: 'OW', Value: [7] },
    };
    expect(pendingPaletteData(instance)).toHaveLength(2);
    const asked: string[] = [];
    await resolvePaletteData(instance, async (uri) => {
      asked.push(uri);
      return new Uint8Array([0xff, 0xff, 0x00, 0x80]);
    });
    expect(asked).toEqual(['http://x/bulk/red']);
    expect(instance['00281201']?.Value).toEqual([0xffff, 0x8000]);
    expect(instance['00281202']?.Value).toEqual([1, 256]);
    expect(pendingPaletteData(instance)).toHaveLength(0);
    expect(pendingPaletteData({ '00280004': { vr: 'CS', Value: ['RGB'] }, '00281201': { BulkDataURI: 'u' } })).toHaveLength(0);
    expect(lutEntries(new Uint8Array([1, 2, 3]))).toEqual([0x0201]);
  });

  it('names the instance and frame of a WADO-RS frame URI and tells server failures apart', () => {
    const uri = 'http://h/dicom-web/studies/1/series/2/instances/3/frames/12';
    expect(instanceKey(uri)).toBe('http://h/dicom-web/studies/1/series/2/instances/3');
    expect(frameNumber(uri)).toBe(12);
    expect(isServerFailure({ status: 500 })).toBe(true);
    expect(isServerFailure({ status: 404 })).toBe(false);
    expect(isServerFailure(new Error('x'))).toBe(false);
  });
});
