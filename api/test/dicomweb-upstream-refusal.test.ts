/**
 * Orthanc's error answers turned into ours (src/dicomweb/upstream-refusal.ts), with hostile and
 * broken bodies: only a short plain reason is ever passed on, and only a 404 claims "no pixel data"
 * when the instance's own metadata shows none.
 */
import { describe, expect, it } from 'vitest';
import type { DicomwebRoute } from '../src/dicomweb/route-parser';
import { lacksPixelData, readErrorBody, upstreamRefusal } from '../src/dicomweb/upstream-refusal';

const frames: DicomwebRoute = { type: 'retrieve', kind: 'frames', study: '1.2', series: '1.2.3', instance: '1.2.3.4', frames: [1] };
const metadata: DicomwebRoute = { type: 'retrieve', kind: 'metadata', study: '1.2' };
const orthanc = (message: unknown) =>
  Buffer.from(JSON.stringify({ HttpStatus: 500, Message: message, Uri: '/dicom-web/x', OrthancError: 'x' }));
const image = [{ '00080016': { vr: 'UI', Value: ['1.2.840.10008.5.1.4.1.1.2'] }, '7FE00010': { vr: 'OW', BulkDataURI: 'x' } }];
const document = [{ '00080016': { vr: 'UI', Value: ['1.2.840.10008.5.1.4.1.1.104.1'] }, '00420011': { vr: 'OB', BulkDataURI: 'x' } }];
const noMetadata = async () => null;

describe('the reason passed on', () => {
  it.each([
    ['a plain reason', orthanc('Parameter out of range'), 'Parameter out of range'],
    ['not JSON', Buffer.from('<html>Internal error</html>'), null],
    ['empty', Buffer.alloc(0), null],
    ['a NUL inside', orthanc('Bad\u0000request'), null],
    ['a line break (log or header injection)', orthanc('Bad request\r\nX-Evil: 1'), null],
    ['markup', orthanc('<script>alert(1)</script>'), null],
    ['too long', orthanc('A'.repeat(500)), null],
    ['not a string', orthanc({ nested: 'Parameter out of range' }), null],
    ['a JSON array', Buffer.from('["Parameter out of range"]'), null],
    ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0x4d, 0xff, 0xfe, 0x7d]), null],
  ])('%s', async (_name, body, reason) => {
    const refused = await upstreamRefusal(metadata, 400, body, noMetadata);
    expect(refused.statusCode).toBe(400);
    expect(refused.code).toBe('DICOMWEB_ARCHIVE_REFUSED');
    expect(refused.message).toBe(`the image archive refused the request: ${reason ?? 'HTTP 400'}`);
    expect(refused.message).not.toMatch(/Uri|OrthancError|dicom-web/);
  });
});

describe('the status answered', () => {
  it.each([
    ['Orthanc 500 on frames of a document', frames, 500, async () => document, 404, 'DICOMWEB_NO_PIXEL_DATA'],
    ['Orthanc 400 on frames of a document', frames, 400, async () => document, 404, 'DICOMWEB_NO_PIXEL_DATA'],
    ['Orthanc 500 on frames of an image', frames, 500, async () => image, 502, 'ORTHANC_FAILED'],
    // A viewer fetches the whole instance after a 5xx: a deflated image must not be called a document.
    [
      'Orthanc 500 on frames of an image it lists without pixel data',
      frames,
      500,
      async () => [{ '00280010': { vr: 'US', Value: [64] } }],
      502,
      'ORTHANC_FAILED',
    ],
    ['Orthanc 503 when the metadata cannot be read either', frames, 503, noMetadata, 502, 'ORTHANC_FAILED'],
    ['Orthanc 500 when reading the metadata throws', frames, 500, () => Promise.reject(new Error('socket hang up')), 502, 'ORTHANC_FAILED'],
    ['Orthanc 400 when the metadata is not DICOM JSON', frames, 400, async () => ({ '7FE00010': {} }), 400, 'DICOMWEB_ARCHIVE_REFUSED'],
    ['Orthanc 400 when the metadata is an empty list', frames, 400, async () => [], 400, 'DICOMWEB_ARCHIVE_REFUSED'],
    ['Orthanc 404 on metadata', metadata, 404, noMetadata, 404, 'DICOMWEB_ARCHIVE_REFUSED'],
    ['Orthanc 500 on metadata', metadata, 500, noMetadata, 502, 'ORTHANC_FAILED'],
    ['Orthanc 416 on a range', metadata, 416, noMetadata, 416, 'DICOMWEB_ARCHIVE_REFUSED'],
    // Its credentials refused: this server's fault; a 401 passed on would sign the user out.
    ['Orthanc 401', metadata, 401, noMetadata, 502, 'ORTHANC_FAILED'],
    ['Orthanc 403', frames, 403, async () => image, 502, 'ORTHANC_FAILED'],
  ] as const)('%s', async (_name, route, status, reader, answered, code) => {
    const refused = await upstreamRefusal(route, status, orthanc('Not implemented yet'), reader);
    expect([refused.statusCode, refused.code]).toEqual([answered, code]);
  });

  it('asks for the metadata of the instance named in the route, and only for frames or renderings of one instance', async () => {
    const asked: string[] = [];
    const reader = async (...uids: string[]) => {
      asked.push(uids.join('/'));
      return document;
    };
    await upstreamRefusal(frames, 500, Buffer.alloc(0), reader);
    await upstreamRefusal({ ...frames, kind: 'rendered' }, 400, Buffer.alloc(0), reader);
    await upstreamRefusal({ type: 'retrieve', kind: 'rendered', study: '1.2', series: '1.2.3' }, 400, Buffer.alloc(0), reader);
    await upstreamRefusal({ ...frames, kind: 'bulk', bulk: ['7FE00010'] }, 404, Buffer.alloc(0), reader);
    await upstreamRefusal({ type: 'search', level: 'studies' }, 500, Buffer.alloc(0), reader);
    expect(asked).toEqual(['1.2/1.2.3/1.2.3.4', '1.2/1.2.3/1.2.3.4']);
  });
});

describe('pixel data in metadata', () => {
  it.each([
    ['Pixel Data', [{ '7FE00010': {} }], false],
    ['Float Pixel Data', [{ '7FE00008': {} }], false],
    ['Double Float Pixel Data', [{ '7FE00009': {} }], false],
    ['none', document, true],
    // Orthanc leaves the pixel data out of the metadata of deflated and HTJ2K images: Rows still says image.
    ['Rows without a pixel data attribute', [{ '00280010': { vr: 'US', Value: [512] } }], false],
    ['not a list', { '00080016': {} }, false],
    ['null', null, false],
    ['a list of a string', ['7FE00010'], false],
    ['an inherited property only', [Object.create({ '7FE00010': {} })], true],
  ])('%s', (_name, value, lacks) => {
    expect(lacksPixelData(value)).toBe(lacks);
  });
});

describe('reading the error body', () => {
  it('stops at 16 KB and gives nothing rather than a part', async () => {
    const big = new Response('x'.repeat(64 * 1024));
    expect((await readErrorBody(big)).length).toBe(0);
    const small = new Response('{"Message":"Unknown resource"}');
    expect((await readErrorBody(small)).toString()).toBe('{"Message":"Unknown resource"}');
  });
});
