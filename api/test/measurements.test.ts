/**
 * Measurements and key images against the real API and database: kept per study and author,
 * read-only for everyone else, replays recorded once, the restricted-patient guard, the roles that
 * may not, hostile bodies refused with nothing written, the audit rows, and the report citation
 * refused on a signed report.
 */
import { randomUUID } from 'node:crypto';
import type { KeyImage, Measurement } from '@pacs/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestApp, type TestApp } from './support/app';
import { seedStudy } from './support/studies';

type User = { id: string; token: string };
let t: TestApp;
let admin: User;
let attending: User;
let resident: User;
let otherResident: User;
let technologist: User;
let referrer: User;
let study: Awaited<ReturnType<typeof seedStudy>>;
let seriesUid: string;

beforeAll(async () => {
  t = await createTestApp();
  admin = await t.userWithToken('admin');
  attending = await t.userWithToken('attending');
  resident = await t.userWithToken('resident');
  otherResident = await t.userWithToken('resident');
  technologist = await t.userWithToken('technologist');
  referrer = await t.userWithToken('referrer');
  study = await seedStudy(t.app, { series: [{ modality: 'CT', instances: 3 }] });
  seriesUid = `${study.studyInstanceUid}.1`;
});
afterAll(async () => t?.close());

const call = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, user: User, payload?: unknown) =>
  t.app.inject({ method, url, headers: bearer(user.token), ...(payload === undefined ? {} : { payload: payload as object }) });

function length(overrides: Record<string, unknown> = {}) {
  return {
    id: randomUUID(),
    tool: 'Length',
    seriesInstanceUid: seriesUid,
    sopInstanceUid: `${seriesUid}.7`,
    frame: 1,
    label: 'Lesion',
    points: [
      [10.5, 20.5],
      [40.5, 60.5],
    ],
    values: { length: 23.4 },
    units: { length: 'mm' },
    ...overrides,
  };
}

const listOf = async (user: User, studyId = study.id) => {
  const response = await call('GET', `/api/studies/${studyId}/measurements`, user);
  expect(response.statusCode).toBe(200);
  return (response.json() as { items: Measurement[] }).items;
};

const countRows = () => t.app.db.models.Measurement.count();

describe('measurements', () => {
  it('keeps a measurement with its image, points, values and author; others see it read-only', async () => {
    const body = length();
    const created = await call('POST', `/api/studies/${study.id}/measurements`, resident, body);
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({
      id: body.id,
      tool: 'Length',
      label: 'Lesion',
      points: body.points,
      values: { length: 23.4 },
      mine: true,
      seriesNumber: 1,
    });

    const seenByAttending = (await listOf(attending)).find((m) => m.id === body.id);
    expect(seenByAttending).toMatchObject({ authorId: resident.id, authorRole: 'resident', mine: false });
    expect((await listOf(resident)).find((m) => m.id === body.id)?.mine).toBe(true);

    const audit = await t.app.db.models.AuditLog.findOne({
      where: { objectType: 'Measurement', objectId: body.id, action: 'C' },
      raw: true,
    });
    expect(audit).toMatchObject({ studyUid: study.studyInstanceUid, userId: resident.id, outcome: 0 });
  });

  it('records a replayed create once and answers the measurement recorded', async () => {
    const body = length();
    expect((await call('POST', `/api/studies/${study.id}/measurements`, resident, body)).statusCode).toBe(201);
    const before = await countRows();
    const replays = await Promise.all([1, 2, 3].map(() => call('POST', `/api/studies/${study.id}/measurements`, resident, body)));
    expect(replays.map((r) => r.statusCode)).toEqual([200, 200, 200]);
    expect(await countRows()).toBe(before);
    expect(await t.app.db.models.AuditLog.count({ where: { objectType: 'Measurement', objectId: body.id, action: 'C' } })).toBe(4);
    expect(
      await t.app.db.models.AuditLog.count({
        where: { objectType: 'Measurement', objectId: body.id, action: 'C', eventId: 'PatientRecord' },
      }),
    ).toBe(4);
    // The id is the author's on this study: anyone else presenting it is refused.
    const forged = await call('POST', `/api/studies/${study.id}/measurements`, otherResident, body);
    expect(forged.statusCode).toBe(409);
    expect(forged.json().code).toBe('MEASUREMENT_ID_REUSED');
  });

  it('lets only the author change or delete; another user gets 403 and nothing changes', async () => {
    const body = length();
    await call('POST', `/api/studies/${study.id}/measurements`, resident, body);
    const url = `/api/studies/${study.id}/measurements/${body.id}`;
    const moved = {
      label: 'Node',
      points: [
        [1, 1],
        [2, 2],
      ],
      values: { length: 1.4 },
      units: { length: 'mm' },
    };
    for (const user of [otherResident, attending]) {
      const edit = await call('PUT', url, user, moved);
      expect(edit.statusCode).toBe(403);
      expect(edit.json().code).toBe('MEASUREMENT_NOT_YOURS');
      expect((await call('DELETE', url, user)).statusCode).toBe(403);
    }
    expect((await listOf(attending)).find((m) => m.id === body.id)).toMatchObject({ label: 'Lesion', values: { length: 23.4 } });

    const edited = await call('PUT', url, resident, moved);
    expect(edited.statusCode).toBe(200);
    expect(edited.json()).toMatchObject({ label: 'Node', points: moved.points, values: { length: 1.4 } });
    expect((await call('DELETE', url, resident)).statusCode).toBe(204);
    expect((await listOf(attending)).some((m) => m.id === body.id)).toBe(false);
    // A late replay of the create does not bring it back; a second delete finds nothing.
    expect((await call('POST', `/api/studies/${study.id}/measurements`, resident, body)).statusCode).toBe(200);
    expect((await listOf(resident)).some((m) => m.id === body.id)).toBe(false);
    expect((await call('DELETE', url, resident)).statusCode).toBe(404);
  });

  it('answers 404 for an unknown study and a measurement of another study', async () => {
    expect((await call('GET', `/api/studies/${randomUUID()}/measurements`, attending)).statusCode).toBe(404);
    expect((await call('POST', `/api/studies/${randomUUID()}/measurements`, resident, length())).statusCode).toBe(404);
    const body = length();
    await call('POST', `/api/studies/${study.id}/measurements`, resident, body);
    const elsewhere = await seedStudy(t.app);
    const moved = {
      label: 'x',
      points: [
        [1, 1],
        [2, 2],
      ],
      values: { length: 1 },
      units: {},
    };
    expect((await call('PUT', `/api/studies/${elsewhere.id}/measurements/${body.id}`, resident, moved)).statusCode).toBe(404);
  });

  it('refuses roles without report rights', async () => {
    for (const user of [technologist, referrer, admin]) {
      expect((await call('GET', `/api/studies/${study.id}/measurements`, user)).statusCode).toBe(403);
      expect((await call('POST', `/api/studies/${study.id}/measurements`, user, length())).statusCode).toBe(403);
      expect((await call('POST', `/api/studies/${study.id}/key-images`, user, keyImage())).statusCode).toBe(403);
    }
  });

  it('refuses a restricted patient’s study to a radiologist without access', async () => {
    const secret = await seedStudy(t.app, { series: [{ modality: 'CT', instances: 1 }] });
    const body = length({ seriesInstanceUid: `${secret.studyInstanceUid}.1`, sopInstanceUid: `${secret.studyInstanceUid}.1.1` });
    expect((await call('POST', `/api/studies/${secret.id}/measurements`, resident, body)).statusCode).toBe(201);
    const secretReport = (
      await t.app.db.models.Report.create({ studyRef: secret.id, primarySlot: randomUUID(), status: 'draft', authorId: resident.id })
    ).get('id');
    expect((await call('PUT', `/api/studies/${secret.id}/restriction`, admin, { restricted: true })).statusCode).toBe(200);
    for (const [method, url, payload] of [
      ['GET', `/api/studies/${secret.id}/measurements`, undefined],
      ['POST', `/api/studies/${secret.id}/measurements`, length()],
      ['DELETE', `/api/studies/${secret.id}/measurements/${body.id}`, undefined],
      ['GET', `/api/studies/${secret.id}/key-images`, undefined],
      ['POST', `/api/studies/${secret.id}/measurements/dicom-sr`, undefined],
      ['POST', `/api/studies/${secret.id}/key-images/dicom-kos`, undefined],
      ['POST', `/api/reports/${secretReport}/measurement-citations`, { measurementId: body.id }],
    ] as const) {
      const response = await call(method, url, resident, payload);
      expect(response.statusCode, url).toBe(403);
      expect(response.json().code).toBe('RESTRICTED_STUDY');
    }
    expect(await t.app.db.models.Measurement.count({ where: { id: body.id, deletedAt: null } })).toBe(1);
  });

  const hostile: [string, Record<string, unknown>, string][] = [
    ['unknown tool', { tool: 'Probe' }, 'VALIDATION_FAILED'],
    ['unknown field', { colour: 'red' }, 'VALIDATION_FAILED'],
    ['unknown value', { values: { length: 1, volume: 3 } }, 'VALIDATION_FAILED'],
    ['value the tool does not measure', { values: { angle: 30 } }, 'BAD_MEASUREMENT'],
    ['too few points', { points: [[1, 1]] }, 'VALIDATION_FAILED'],
    [
      'points that do not fit the tool',
      {
        points: [
          [1, 1],
          [2, 2],
          [3, 3],
        ],
      },
      'BAD_MEASUREMENT',
    ],
    [
      'point with three coordinates',
      {
        points: [
          [1, 1, 1],
          [2, 2],
        ],
      },
      'VALIDATION_FAILED',
    ],
    ['infinite coordinate (1e400)', { points: '__INFINITY__' }, 'VALIDATION_FAILED'],
    [
      'huge coordinate',
      {
        points: [
          [1e9, 1],
          [2, 2],
        ],
      },
      'VALIDATION_FAILED',
    ],
    [
      'NaN as a string',
      {
        points: [
          ['NaN', 1],
          [2, 2],
        ],
      },
      'VALIDATION_FAILED',
    ],
    [
      'null coordinate',
      {
        points: [
          [null, 1],
          [2, 2],
        ],
      },
      'VALIDATION_FAILED',
    ],
    ['NUL in the label', { label: 'Lesion\u0000' }, 'NUL_CHARACTER'],
    ['control character in the label', { label: 'Lesion\u0007' }, 'VALIDATION_FAILED'],
    ['oversize label', { label: 'x'.repeat(201) }, 'VALIDATION_FAILED'],
    ['not a UID', { sopInstanceUid: '1.2.abc' }, 'VALIDATION_FAILED'],
    ['oversize UID', { sopInstanceUid: `1.${'2'.repeat(70)}` }, 'VALIDATION_FAILED'],
    ['frame 0', { frame: 0 }, 'VALIDATION_FAILED'],
    ['frame as a string', { frame: '1' }, 'VALIDATION_FAILED'],
    ['id not a UUID', { id: 'measurement-1' }, 'VALIDATION_FAILED'],
    ['series of another study', { seriesInstanceUid: '1.2.3.4' }, 'IMAGE_NOT_IN_STUDY'],
  ];
  it.each(hostile)('refuses %s with 400 and writes nothing', async (_name, change, code) => {
    const before = await countRows();
    let payload: string = JSON.stringify(length(change));
    payload = payload.replace('"__INFINITY__"', '[[1e400,1],[2,2]]');
    const response = await t.app.inject({
      method: 'POST',
      url: `/api/studies/${study.id}/measurements`,
      headers: { ...bearer(resident.token), 'content-type': 'application/json' },
      payload,
    });
    expect(response.statusCode, response.body).toBe(400);
    expect(response.json().code).toBe(code);
    expect(await countRows()).toBe(before);
  });

  it.each([
    ['unknown field', { tool: 'Angle' }],
    [
      'infinite coordinate',
      {
        points: [
          [-1e7, 1],
          [2, 2],
        ],
      },
    ],
    [
      'wrong point count',
      {
        points: [
          [1, 1],
          [2, 2],
          [3, 3],
          [4, 4],
        ],
      },
    ],
    ['value the tool does not measure', { values: { mean: 3 } }],
    ['NUL in the label', { label: '\u0000' }],
    ['label as a number', { label: 7 }],
  ])('refuses a change with %s (400) and keeps the measurement as it was', async (_name, change) => {
    const body = length();
    await call('POST', `/api/studies/${study.id}/measurements`, resident, body);
    const { id, tool, seriesInstanceUid, sopInstanceUid, frame, ...shape } = body;
    const response = await call('PUT', `/api/studies/${study.id}/measurements/${id}`, resident, { ...shape, ...change });
    expect(response.statusCode).toBe(400);
    expect((await listOf(resident)).find((m) => m.id === id)).toMatchObject({ label: 'Lesion', points: body.points, values: body.values });
  });

  it('refuses an instance the archive lists in another series', async () => {
    const { models } = t.app.db;
    const two = await seedStudy(t.app, {
      series: [
        { modality: 'CT', instances: 1 },
        { modality: 'CT', instances: 1 },
      ],
    });
    const [first, second] = await models.Series.findAll({ where: { studyRef: two.id }, order: [['seriesNumber', 'ASC']], raw: true });
    await models.Instance.create({
      sopInstanceUid: `${second!.seriesInstanceUid}.1`,
      seriesRef: second!.id,
      sopClassUid: '1.2.840.10008.5.1.4.1.1.2',
      instanceNumber: 42,
    });
    const wrong = await call(
      'POST',
      `/api/studies/${two.id}/measurements`,
      resident,
      length({ seriesInstanceUid: first!.seriesInstanceUid, sopInstanceUid: `${second!.seriesInstanceUid}.1` }),
    );
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json().code).toBe('IMAGE_NOT_IN_STUDY');
    const right = await call(
      'POST',
      `/api/studies/${two.id}/measurements`,
      resident,
      length({ seriesInstanceUid: second!.seriesInstanceUid, sopInstanceUid: `${second!.seriesInstanceUid}.1` }),
    );
    expect(right.json()).toMatchObject({ seriesNumber: 2, instanceNumber: 42 });
  });
});

function keyImage(overrides: Record<string, unknown> = {}) {
  return {
    id: randomUUID(),
    seriesInstanceUid: seriesUid,
    sopInstanceUid: `${seriesUid}.${Math.floor(Math.random() * 1e9)}`,
    frame: 1,
    ...overrides,
  };
}

describe('key images', () => {
  it('flags an image once per study, lists it, and unflags it (audited)', async () => {
    const body = keyImage({ note: 'Largest node' });
    const flagged = await call('POST', `/api/studies/${study.id}/key-images`, resident, body);
    expect(flagged.statusCode).toBe(201);
    // The same image again (another id, another user) and a replay answer the key image there is.
    const again = await call('POST', `/api/studies/${study.id}/key-images`, attending, keyImage({ sopInstanceUid: body.sopInstanceUid }));
    expect(again.statusCode).toBe(200);
    expect(again.json().id).toBe(body.id);
    expect((await call('POST', `/api/studies/${study.id}/key-images`, resident, body)).statusCode).toBe(200);
    const list = (await call('GET', `/api/studies/${study.id}/key-images`, attending)).json() as { items: KeyImage[] };
    expect(list.items.filter((k) => k.sopInstanceUid === body.sopInstanceUid)).toEqual([
      expect.objectContaining({ id: body.id, note: 'Largest node', flaggedById: resident.id, seriesNumber: 1 }),
    ]);
    expect(await t.app.db.models.AuditLog.count({ where: { objectType: 'KeyImage', objectId: body.id, action: 'C' } })).toBe(3);
    expect((await call('DELETE', `/api/studies/${study.id}/key-images/${body.id}`, attending)).statusCode).toBe(204);
    expect((await call('DELETE', `/api/studies/${study.id}/key-images/${body.id}`, attending)).statusCode).toBe(204);
    expect(await t.app.db.models.AuditLog.count({ where: { objectType: 'KeyImage', objectId: body.id, action: 'D' } })).toBe(1);
    const other = await seedStudy(t.app);
    const reused = await call('POST', `/api/studies/${other.id}/key-images`, resident, { ...keyImage(), id: (await flagAnother()).id });
    expect(reused.statusCode).toBe(409);
  });

  it.each([
    ['unknown field', { favourite: true }],
    ['NUL in the note', { note: 'a\u0000' }],
    ['oversize note', { note: 'x'.repeat(201) }],
    ['series of another study', { seriesInstanceUid: '9.9.9' }],
    ['negative frame', { frame: -1 }],
  ])('refuses %s with 400 and writes nothing', async (_name, change) => {
    const before = await t.app.db.models.KeyImage.count();
    expect((await call('POST', `/api/studies/${study.id}/key-images`, resident, keyImage(change))).statusCode).toBe(400);
    expect(await t.app.db.models.KeyImage.count()).toBe(before);
  });
});

async function flagAnother(): Promise<KeyImage> {
  const response = await call(
    'POST',
    `/api/studies/${study.id}/key-images`,
    resident,
    keyImage({ sopInstanceUid: `${seriesUid}.${Date.now()}` }),
  );
  expect(response.statusCode).toBe(201);
  return response.json();
}

describe('measurement cited in the report', () => {
  async function reportOn(status: string) {
    return (
      await t.app.db.models.Report.create({
        studyRef: study.id,
        primarySlot: randomUUID(),
        status: status as 'draft',
        authorId: resident.id,
      })
    ).get('id');
  }

  it('gives the Findings sentence and the viewer link of a draft report’s measurement', async () => {
    const body = length({
      tool: 'EllipticalROI',
      points: [
        [5, 9],
        [5, 1],
        [1, 5],
        [9, 5],
      ],
      values: { majorAxis: 23.4, minorAxis: 18.1, mean: 40.25, stdDev: 9.8, area: 330 },
      units: { length: 'mm', area: 'mm²', modality: 'HU' },
    });
    expect((await call('POST', `/api/studies/${study.id}/measurements`, resident, body)).statusCode).toBe(201);
    const reportId = await reportOn('draft');
    const cited = await call('POST', `/api/reports/${reportId}/measurement-citations`, attending, { measurementId: body.id });
    expect(cited.statusCode).toBe(200);
    expect(cited.json()).toEqual({
      measurementId: body.id,
      text: 'Lesion: 23.4 × 18.1 mm (mean 40.3 HU, SD 9.8 HU), series 1 image ?',
      href: `/viewer/${study.id}?series=${seriesUid}&instance=${body.sopInstanceUid}&measurement=${body.id}`,
    });
  });

  it.each(['final', 'addended'])('refuses a %s report with 409 REPORT_FINAL', async (status) => {
    const body = length();
    await call('POST', `/api/studies/${study.id}/measurements`, resident, body);
    const reportId = await reportOn(status);
    const refused = await call('POST', `/api/reports/${reportId}/measurement-citations`, attending, { measurementId: body.id });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().code).toBe('REPORT_FINAL');
  });

  it('answers 404 for a measurement of another study', async () => {
    const elsewhere = await seedStudy(t.app, { series: [{ modality: 'CT', instances: 1 }] });
    const body = length({ seriesInstanceUid: `${elsewhere.studyInstanceUid}.1` });
    expect((await call('POST', `/api/studies/${elsewhere.id}/measurements`, resident, body)).statusCode).toBe(201);
    const reportId = await reportOn('draft');
    expect((await call('POST', `/api/reports/${reportId}/measurement-citations`, attending, { measurementId: body.id })).statusCode).toBe(
      404,
    );
  });
});
