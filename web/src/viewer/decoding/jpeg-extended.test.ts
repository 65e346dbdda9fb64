/**
 * The 12-bit JPEG decoder that replaces the image loader's (jpeg-extended.ts). The loader's decoder adds
 * 15 to every 12-bit sample and clips from 4080 up: the three decoding tests fail with it.
 */
import { describe, expect, it } from 'vitest';
import { decodableFrame, decodeJpeg12, loaderMisdecodes, seriesKey } from './jpeg-extended';

const JPEG_EXTENDED = '1.2.840.10008.1.2.4.51';

/**
 * A 37 × 21 12-bit image made here (a ramp over 0…4095, a 0/4095 checkerboard, noise near 4095), encoded
 * by DCMTK 3.6.7 (`dcmcjpeg +ee +q 90`), and DCMTK's decode of it (`dcmdjpeg`, 16-bit little endian).
 */
// codestream 854 bytes
const CODESTREAM = [
  '/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAMCAgMCAgMDAwMEAwMEBQgFBQQEBQoHBwYIDAoMDAsKCwsNDhIQDQ4RDgsLEBYQERMUFRUVDA8XGBYUGBIUFRT/',
  'wQALDAAVACUBAREA/8QAGwAAAQQDAAAAAAAAAAAAAAAADQQICwwGBwn/xABDEAAABAIDCwQPCQAAAAAAAAABAgMEBQYHFhgICgsSExQVFxkaGwARJ0UJDCMl',
  'KzQ1OTtRZmuJleIcIiQoKjc4SdP/2gAIAQEAAD8ApL1zXgQ7xToD9XVP08p1LtdevIfhTMtdnuv7OoO5abD7UD4WtzS21uceuTWPQ75p7meW+rXlcrNHkGMa',
  'mK1axu9+js7LMnejffc7PDYvjh8G02g/znb47XytXtfYy1ndQVc7kSzkZ6Yx6CyzI72LS60mZpFWrubYVGnCyLWKxFJJwVQXKmMos8cEcJOFFlig3QTAhSuD',
  'HyJTIbSCc4XEJ8mgkcgcxMpdUUSfwODM5flp6skVcVBXcrFO3XxssoUSkcgkQq6bcmKs6KkByD3+5rwId4p0B+rqn6eTMb5qvIfhTMtXLF/Z1B3LTYfVo8LW',
  '5pba3OPXJoih3zT3M8t9WvK5WaPIMY1MVq1jd79HZ2Xhb6N99zs8Ni+OHwbTaD/OdvjtfK1e19jLWd1BVzuRIynemqM0lQxGj2WXTJ9FqPGIxGHyWMNUMwyJ',
  'VE2SyfPEnB01hAMdMDOEAKQi+TQBU4gArV6PIZEYinHJ7PAJpi0Xh7ZyoSOTQeAuWSn3yikZUG7wrg+TBHHLjEMRQFDiBirkMLGrmvB63Y3fwner1dRo/wCn',
  'Kvqdstl71XN1GmHP8Bz3rFe0TXdycJG9n224u7q4QDzEl0tu4+o+5iotpFuqPyCzWZvRJdY2hqGDzDQr0jxWHattOVxl3O4yzRbjW0MD/frMPs+duJng6bfQ',
  '94N4br/Z/wAOMsi1z2sP7t6N2r+0N0DOf8jqvWbq79HmltDM8cjlU0Tyd/SDKsFmKDwyPkeQw71osdNRIyBlnCxhBTmPziGUIAiCIoFEqrgoFKKonDImN0PM',
  'lzKgEowE5yNQOuOSbOVDNiZBysx7mV4LpYmMLMx8XLCQCnIUC45VFl///9k=',
].join('');

// expected 1554 bytes
const DCMTK = [
  'AAAQACEAMQBBAFEAYgByAIMAkQCjALQAAAAAAP8P/g8BAAAA/w//DwAAAAD/D/4Plw/QDrgOZQ+KD0EPsQ7fDlcPzQ7nDrUP6Q7DANMA5AD0AAQBFAElATUB',
  'RAFWAWkBdAEAAAAA/A//DwAAAwD/D/oPBQAAAPwP/w/BDhQPbg/gDsgPwg7JDj0PgQ96D8QPAA+nD4YBlgGnAbcBxwHXAegB+AEIAhcCKgI1Av8P/w8AAAEA',
  '/g/8DwAAAgD9D/8PAwABALYOgQ+UD48Pqw65DkQPfg9kD9kOAA/WDswOSQJZAmsCegKKApoCqwK7As0C2QLvAvwC+w//DwAAAwD/D/8PAwAAAP8P/A8AAAAA',
  'sQ42D68OHw+GD8AO9w74DrEPqw+2DrEOmg8MAxwDLQM9A00DXQNuA34DjAOfA68DvgMFAAAA/w/9DwAAAAD8D/8PAAADAP8P/w+EDhAPcw+oD/cOpw64DvsO',
  'ew9DD/YOQg9wD88D3wPwAwAEEAQgBDEEQQRRBGEEdASEBAAAAAD/D/8PAQADAP8P/Q8CAAAA/A/+D88OKA9OD7AOGw9GD5YPPA+rDhsPqw5/DgQPkgSiBLQE',
  'wwTUBOME9AQEBRUFIgU1BUYF/w//DwEAAAD/D/wPAAAFAPoP/w8DAAAAIg8RD6YOwQ5zDw8PtQ6QD4cPpw5BD5QP8Q5VBWUFdwWGBZYFpgW3BccF1gXnBfsF',
  'BQb/D/8PAAACAP4P/w8AAAAA/w//DwAAAQCBD3UO+A6WDrUOcQ42D9MO8Q6bD1cPbg5DDxgGKAY5BkkGWQZpBnoGigabBqkGugbNBgAAAAD/D/0PAQAAAP8P',
  '/w8AAAAA/w/+D3wOYQ9kD4sPaQ+EDs0Ocg5QDwcPwg56Do4O2wbrBvwGDAccBywHPQdNB10HbgeAB4wHAAAAAPwP/w8AAAMA/w/6DwUAAAD8D/8Pqg7XDkwP',
  'XA+BDo0OKg9vD7EOFA9/DskOog6eB64HvwfPB98H7wcACBAIIQgvCEEITgj/D/8PAAAAAP4P/A8AAAIA/Q//DwMAAQBHD14PLw8dD9cO8w5hDp4OwQ7aDqkO',
  'uQ7vDmEIcQiDCJIIogiyCMMI0wjlCPEIBgkUCfsP/w8AAAMA/w//DwMAAAD/D/wPAAAAALsO5w5TDqEOsQ6TDmkOwQ6yDmsO0g5SDmEPJAk0CUUJVQllCXUJ',
  'hgmWCaQJtwnHCdYJBQAAAP8P/Q8AAAAA/A//DwAAAwD/D/8PrA66DikPRQ/2Du4Oww5PDtYO2g5ND7gOWQ7nCfcJCAoYCigKOApJClkKaQp5CosKnQoAAAAA',
  '/w//DwEAAwD/D/0PAgAAAPwP/g8JDwYP2A5HDuAOPA9JDlgOZQ4rD/4ONA8dD6oKugrMCtsK7Ar7CgwLHAstCzoLTAteC/8P/w8BAAAA/w/8DwAABQD6D/8P',
  'AwAAAMsOYA6KDnoOcQ7lDkoP2A7MDiIPUw+RDhsPbQt9C48LnguuC74LzwvfC+8L/wsSDB4M/w//DwAAAgD+D/8PAAAAAP8P/w8AAAEABA+VDp4ONQ44DkMP',
  '2A72DvMO8Q7QDvgOpg4wDEAMUQxhDHEMgAySDKIMrQzBDNUM5QwBAAAA/g//DwIAAgD7D/8PAAAFAP0P/g8HD7cOTg+eDoYOSQ6KDnMOZg7NDusOJA82D/MM',
  'Aw0VDSQNNA1EDVUNZQ19DYENnA2bDQQAAAD/D/4PAAAAAP8P+w8EAAAA/w//DyIPxg6/DggPig7eDmgOjQ4tDmoOPQ4uDyoPtw3HDdgN5w34DQcOGQ4pDjAO',
  'Tg5UDmwO/w/+DwAAAgD/D/8PAAAAAP8P/w8AAAAAqA7tDioP4w57DtkOtA4VDygP9g4SD2AOww55DokOmg6qDroOyg7bDusO/g4LDxwPLg/+D/cPBwAAAP0P',
  '/g8FAAEA/g/6DwEAAgDbDokOdg5iDtIOhg4JD1gOHQ6+DkYOOw/HDjwPTA9dD20PfQ+ND54Prg/AD84P3g/qDwMABAD9D/8PAAAAAP8P+w8EAAEA/w//D7MO',
  '1A78DlwOXg5tDo4Org4ND2MOAw9lDoMO',
].join('');

const bytes = (base64: string) => Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));

/**
 * A 12-bit JPEG of flat 8 × 8 blocks (DC only, quantizer 1), `width` × 8, one value per block, with a
 * restart marker every `restartInterval` blocks (0: none).
 */
function flatJpeg12(width: number, values: number[], restartInterval: number): Uint8Array {
  const out = [0xff, 0xd8];
  const segment = (marker: number, body: number[]) => out.push(0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 0xff, ...body);
  segment(0xdb, [0x00, ...Array<number>(64).fill(1)]);
  segment(0xc1, [12, 0, 8, width >> 8, width & 0xff, 1, 1, 0x11, 0]);
  // DC: the 16 difference categories as 5-bit codes (code = category); AC: end of block only, code 0
  segment(0xc4, [0x00, 0, 0, 0, 0, 16, ...Array<number>(11).fill(0), ...Array.from({ length: 16 }, (_, i) => i)]);
  segment(0xc4, [0x10, 1, ...Array<number>(15).fill(0), 0x00]);
  if (restartInterval) segment(0xdd, [0, restartInterval]);
  segment(0xda, [1, 1, 0x00, 0, 63, 0]);
  let acc = 0;
  let filled = 0;
  const put = (value: number, bits: number) => {
    for (let i = bits - 1; i >= 0; i--) {
      acc = (acc << 1) | ((value >> i) & 1);
      if (++filled === 8) {
        out.push(acc, ...(acc === 0xff ? [0] : []));
        acc = 0;
        filled = 0;
      }
    }
  };
  const align = () => {
    while (filled) put(1, 1);
  };
  let pred = 0;
  values.forEach((value, i) => {
    if (restartInterval && i > 0 && i % restartInterval === 0) {
      align();
      out.push(0xff, 0xd0 + ((i / restartInterval - 1) & 7));
      pred = 0;
    }
    const diff = (value - 2048) * 8 - pred;
    pred += diff;
    const category = diff === 0 ? 0 : 32 - Math.clz32(Math.abs(diff));
    put(category, 5);
    if (category) put(diff < 0 ? diff + (1 << category) - 1 : diff, category);
    put(0, 1);
  });
  align();
  out.push(0xff, 0xd9);
  return new Uint8Array(out);
}

describe('12-bit JPEG (JPEG Extended) decoding', () => {
  it("decodes DCMTK's 12-bit JPEG exactly like DCMTK, over the whole 0…4095 range", () => {
    const expected = new Uint16Array(bytes(DCMTK).buffer);
    const decoded = decodeJpeg12(bytes(CODESTREAM));
    expect(decoded).not.toBeNull();
    expect(decoded!.length).toBe(37 * 21);
    expect(Array.from(decoded!)).toEqual(Array.from(expected));
    expect(Math.min(...expected)).toBe(0);
    expect(Math.max(...expected)).toBe(4095);
  });

  it('keeps the extremes and the top of the range, with and without restart markers, cropping partial blocks', () => {
    const values = [0, 4095, 1000, 4085];
    const expected = Array.from({ length: 8 }, () => Array.from({ length: 27 }, (_, x) => values[x >> 3]!)).flat();
    expect(Array.from(decodeJpeg12(flatJpeg12(27, values, 0))!)).toEqual(expected);
    expect(Array.from(decodeJpeg12(flatJpeg12(27, values, 1))!)).toEqual(expected);
    expect(Array.from(decodeJpeg12(flatJpeg12(27, values, 3))!)).toEqual(expected);
  });

  it('decodes a truncated codestream as far as it goes instead of failing', () => {
    const whole = bytes(CODESTREAM);
    const decoded = decodeJpeg12(whole.subarray(0, whole.length - 300));
    expect(decoded?.length).toBe(37 * 21);
    expect(Array.from(decoded!.subarray(0, 37))).toEqual(Array.from(new Uint16Array(bytes(DCMTK).buffer).subarray(0, 37)));
  });

  it('hands a 12-bit JPEG frame to the loader as native little endian, and leaves every other frame to the loader', () => {
    const codestream = flatJpeg12(8, [4095], 0);
    const frame = decodableFrame({ pixelData: codestream, transferSyntax: JPEG_EXTENDED });
    expect(frame.transferSyntax).toBe('1.2.840.10008.1.2.1');
    expect(Array.from(frame.pixelData.subarray(0, 4))).toEqual([0xff, 0x0f, 0xff, 0x0f]);
    expect(frame.pixelData.length).toBe(128);
    const eightBit = codestream.slice();
    eightBit[eightBit.indexOf(0xc1) + 3] = 8; // SOF1 precision
    const other = { pixelData: eightBit, transferSyntax: JPEG_EXTENDED };
    expect(decodableFrame(other)).toBe(other);
    const baseline = { pixelData: codestream, transferSyntax: '1.2.840.10008.1.2.4.50' };
    expect(decodableFrame(baseline)).toBe(baseline);
    expect(decodeJpeg12(new Uint8Array([1, 2, 3]))).toBeNull();
  });

  it('tells which loader images to decode again, and keys a series by its URI', () => {
    expect(loaderMisdecodes(JPEG_EXTENDED, 12)).toBe(true);
    expect(loaderMisdecodes(JPEG_EXTENDED, 8)).toBe(false);
    expect(loaderMisdecodes('1.2.840.10008.1.2.4.50', 12)).toBe(false);
    expect(loaderMisdecodes(undefined, 12)).toBe(false);
    expect(seriesKey('http://h/dicom-web/studies/1/series/2/instances/3/frames/4')).toBe('http://h/dicom-web/studies/1/series/2');
  });
});
