/**
 * The DICOMweb route parser alone: every route Orthanc's DICOMweb plugin 1.7 serves is recognised
 * and rebuilt from its parts; every other spelling (traversal in any encoding, Orthanc's own REST
 * routes, malformed UIDs and frame lists, hostile query strings) is refused with a stable code.
 */
import { describe, expect, it } from 'vitest';
import { DicomwebRequestError, isDicomUid, parseDicomwebRequest } from '../src/dicomweb/route-parser';
import { hostileTargets } from './support/dicomweb-hostile';

const S = '1.2.826.0.1.3680043.10.1';
const SE = `${S}.2`;
const I = `${S}.2.3`;

const HOSTILE_PATHS = hostileTargets({
  studyA: S,
  studyB: '1.2.826.0.1.3680043.10.7',
  seriesB: '1.2.826.0.1.3680043.10.7.1',
  orthancStudyA: '6e2c0ec2-5d99c8ca-c1c21cee-79a09605-68391d12',
  orthancPatientB: 'da39a3ee-5e6b4b0d-3255bfef-95601890-afd80709',
});

describe('recognised DICOMweb routes', () => {
  it.each([
    ['/studies', '/studies'],
    ['/series', '/series'],
    ['/instances', '/instances'],
    [`/studies/${S}`, `/studies/${S}`],
    [`/studies/${S}/metadata`, `/studies/${S}/metadata`],
    [`/studies/${S}/rendered`, `/studies/${S}/rendered`],
    [`/studies/${S}/series`, `/studies/${S}/series`],
    [`/studies/${S}/instances`, `/studies/${S}/instances`],
    [`/studies/${S}/series/${SE}`, `/studies/${S}/series/${SE}`],
    [`/studies/${S}/series/${SE}/metadata`, `/studies/${S}/series/${SE}/metadata`],
    [`/studies/${S}/series/${SE}/rendered`, `/studies/${S}/series/${SE}/rendered`],
    [`/studies/${S}/series/${SE}/instances`, `/studies/${S}/series/${SE}/instances`],
    [`/studies/${S}/series/${SE}/instances/${I}`, `/studies/${S}/series/${SE}/instances/${I}`],
    [`/studies/${S}/series/${SE}/instances/${I}/metadata`, `/studies/${S}/series/${SE}/instances/${I}/metadata`],
    [`/studies/${S}/series/${SE}/instances/${I}/rendered`, `/studies/${S}/series/${SE}/instances/${I}/rendered`],
    [`/studies/${S}/series/${SE}/instances/${I}/frames`, `/studies/${S}/series/${SE}/instances/${I}/frames`],
    [`/studies/${S}/series/${SE}/instances/${I}/frames/1`, `/studies/${S}/series/${SE}/instances/${I}/frames/1`],
    [`/studies/${S}/series/${SE}/instances/${I}/frames/1,3,12`, `/studies/${S}/series/${SE}/instances/${I}/frames/1,3,12`],
    [`/studies/${S}/series/${SE}/instances/${I}/frames/1%2C2`, `/studies/${S}/series/${SE}/instances/${I}/frames/1,2`],
    [`/studies/${S}/series/${SE}/instances/${I}/frames/2/rendered`, `/studies/${S}/series/${SE}/instances/${I}/frames/2/rendered`],
    [`/studies/${S}/series/${SE}/instances/${I}/bulk/7FE00010`, `/studies/${S}/series/${SE}/instances/${I}/bulk/7fe00010`],
    [
      `/studies/${S}/series/${SE}/instances/${I}/bulk/00540016/0/00181072`,
      `/studies/${S}/series/${SE}/instances/${I}/bulk/00540016/0/00181072`,
    ],
  ])('%s → %s', (input, expected) => {
    expect(parseDicomwebRequest(input).upstreamPath).toBe(expected);
  });

  it('names the study it forwards, and only that one', () => {
    expect(parseDicomwebRequest(`/studies/${S}/series/${SE}/metadata`).route).toMatchObject({ study: S, series: SE, kind: 'metadata' });
    expect(parseDicomwebRequest('/studies?PatientID=X').route).toEqual({ type: 'search', level: 'studies' });
    expect(parseDicomwebRequest(`/studies/${S}/series`).route).toEqual({ type: 'search', level: 'series', study: S });
  });

  it('re-encodes the query from its parsed parameters and splits includefield lists', () => {
    const parsed = parseDicomwebRequest('/studies?PatientName=M%C3%BCller%5EZ*&includefield=StudyDescription%2CModalitiesInStudy&limit=25');
    expect(parsed.query).toEqual([
      ['PatientName', 'Müller^Z*'],
      ['includefield', 'StudyDescription'],
      ['includefield', 'ModalitiesInStudy'],
      ['limit', '25'],
    ]);
    expect(parsed.upstreamPath).toBe(
      '/studies?PatientName=M%C3%BCller%5EZ*&includefield=StudyDescription&includefield=ModalitiesInStudy&limit=25',
    );
    // Characters that would end or split the parameter travel encoded.
    expect(parseDicomwebRequest('/studies?PatientID=a%26limit%3D1%23x').upstreamPath).toBe('/studies?PatientID=a%26limit%3D1%23x');
    expect(parseDicomwebRequest('/studies?includefield=00081030,0020000D&includefield=all').query).toEqual([
      ['includefield', '00081030'],
      ['includefield', '0020000D'],
      ['includefield', 'all'],
    ]);
  });
});

describe('refused request targets', () => {
  it.each(HOSTILE_PATHS.map((p) => [p.length > 90 ? `${p.slice(0, 90)}…` : p, p]))('%s', (_label, target) => {
    let error: unknown;
    try {
      parseDicomwebRequest(target);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(DicomwebRequestError);
    const refusal = error as DicomwebRequestError;
    expect([400, 404, 414]).toContain(refusal.statusCode);
    expect(refusal.code).toMatch(/^DICOMWEB_[A-Z_]+$/);
  });

  it.each([
    ['PatientID=a%00b', 'DICOMWEB_BAD_PARAMETER'],
    ['PatientID=%zz', 'DICOMWEB_BAD_ENCODING'],
    ['Patient%2FID=x', 'DICOMWEB_BAD_PARAMETER'],
    ['..%2f..%2fsystem=1', 'DICOMWEB_BAD_PARAMETER'],
    ['includefield=../system', 'DICOMWEB_BAD_PARAMETER'],
    ['includefield=StudyDescription%00', 'DICOMWEB_BAD_PARAMETER'],
    [`PatientID=${'x'.repeat(1500)}`, 'DICOMWEB_BAD_PARAMETER'],
    [`PatientID=${'x'.repeat(5000)}`, 'DICOMWEB_QUERY_TOO_LONG'],
    [Array.from({ length: 70 }, (_, i) => `a${i}=1`).join('&'), 'DICOMWEB_BAD_PARAMETER'],
  ])('query %s → %s', (query, code) => {
    expect(() => parseDicomwebRequest(`/studies?${query}`)).toThrow(expect.objectContaining({ code }));
  });

  it('checks UIDs against the DICOM grammar', () => {
    for (const good of ['1', '0', '1.2.3', '1.2.840.10008.5.1.4.1.1.2', '1.02.3', '9'.repeat(64)])
      expect(isDicomUid(good), good).toBe(true);
    for (const bad of ['', '.', '..', '1.', '.1', '1..2', '1.2a', '1 2', '１.２', '9'.repeat(65), '1,2'])
      expect(isDicomUid(bad), bad).toBe(false);
  });
});
