/**
 * Document sessions follow shared/src/workflow.ts documentModeFor: read-write goes to the report's
 * author or the study's assignee (residents, while the report is theirs), never to another
 * resident, and a resident cannot first take the study to get it.
 */
import { randomUUID } from 'node:crypto';
import type { ReportStatus } from '@pacs/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestApp, type TestApp } from './support/app';
import { seedStudy } from './support/studies';

type User = { id: string; token: string };
let t: TestApp;
let resident: User;
let resident2: User;
let attending: User;

beforeAll(async () => {
  t = await createTestApp();
  resident = await t.userWithToken('resident');
  resident2 = await t.userWithToken('resident');
  attending = await t.userWithToken('attending');
}, 60_000);

afterAll(async () => {
  await t?.close();
});

/** A study with its primary report written straight into the database (no sync-server needed for sessions). */
async function studyWithReport(assignee: User | null, author: User, status: ReportStatus = 'draft') {
  const study = await seedStudy(t.app, { assigneeId: assignee?.id ?? null, status: 'in_progress' });
  const id = randomUUID();
  await t.app.db.models.Report.create({ id, studyRef: study.id, primarySlot: study.id, status, authorId: author.id });
  return { studyId: study.id as string, reportId: id };
}

async function modeOf(user: User, reportId: string): Promise<string> {
  const response = await t.app.inject({ method: 'POST', url: `/api/reports/${reportId}/session`, headers: bearer(user.token) });
  expect(response.statusCode, response.body).toBe(200);
  return response.json().mode;
}

describe('document session mode', () => {
  it('a resident cannot take an attending’s study and then edit its report', async () => {
    const { studyId, reportId } = await studyWithReport(attending, attending);
    const take = await t.app.inject({
      method: 'PATCH',
      url: `/api/studies/${studyId}`,
      headers: bearer(resident.token),
      payload: { assigneeId: resident.id },
    });
    expect(take.statusCode, take.body).toBe(403);
    expect(await modeOf(resident, reportId)).toBe('ro');
    expect(await modeOf(attending, reportId)).toBe('rw');
  });

  it.each<{
    what: string;
    assignee: 'resident' | 'resident2' | 'attending' | null;
    author: 'resident' | 'resident2' | 'attending';
    status?: ReportStatus;
    user: 'resident' | 'resident2' | 'attending';
    mode: 'rw' | 'ro';
  }>([
    { what: "a second resident on the first one's unassigned draft", assignee: null, author: 'resident', user: 'resident2', mode: 'ro' },
    {
      what: "a second resident on the first one's assigned draft",
      assignee: 'resident',
      author: 'resident',
      user: 'resident2',
      mode: 'ro',
    },
    { what: 'the author on an unassigned draft', assignee: null, author: 'resident', user: 'resident', mode: 'rw' },
    { what: 'the assignee on an attending-created draft', assignee: 'resident2', author: 'attending', user: 'resident2', mode: 'rw' },
    { what: 'the author after the attending took the study', assignee: 'attending', author: 'resident', user: 'resident', mode: 'ro' },
    { what: 'the author after submitting', assignee: 'resident', author: 'resident', status: 'preliminary', user: 'resident', mode: 'ro' },
    { what: 'the author of a returned report', assignee: 'resident', author: 'resident', status: 'returned', user: 'resident', mode: 'rw' },
    {
      what: "an attending on a resident's preliminary",
      assignee: 'resident',
      author: 'resident',
      status: 'preliminary',
      user: 'attending',
      mode: 'rw',
    },
  ])('$what → $mode', async ({ assignee, author, status, user, mode }) => {
    const users = { resident, resident2, attending };
    const { reportId } = await studyWithReport(assignee ? users[assignee] : null, users[author], status);
    expect(await modeOf(users[user], reportId)).toBe(mode);
  });

  it("a second resident cannot submit the first one's draft", async () => {
    const { reportId } = await studyWithReport(null, resident);
    const response = await t.app.inject({
      method: 'POST',
      url: `/api/reports/${reportId}/submit`,
      headers: bearer(resident2.token),
      payload: {},
    });
    expect(response.statusCode, response.body).toBe(403);
    expect(response.json().code).toBe('NOT_ASSIGNED');
  });
});
