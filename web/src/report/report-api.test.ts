/**
 * fetchStudyReport tells the two 404s of GET /api/studies/:id/report apart as the API sends them:
 * the study has no report yet (null, so the page offers to start one) and the study does not exist
 * (an error the page shows).
 */
import type { ErrorResponse } from '@pacs/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiError, api } from '../api/client';
import { jsonResponse, TEST_USER } from '../test/fake-server';
import { fetchStudyReport } from './report-api';

const STUDY = '0b6a1c52-5d1e-4f3a-9c2b-7f1e2d3c4b5a';
const originalFetch = api.fetchImpl;

/** The report route answers `body` with its status; the refresh before it succeeds. */
function answerReportWith(body: ErrorResponse) {
  api.clear(false);
  api.fetchImpl = async (input) => {
    if (String(input).endsWith('/api/auth/refresh')) {
      return jsonResponse(200, { accessToken: 'access', tokenType: 'Bearer', expiresIn: 900, user: TEST_USER });
    }
    return jsonResponse(body.statusCode, body);
  };
}

afterEach(() => {
  api.fetchImpl = originalFetch;
  api.clear(false);
});

describe('fetchStudyReport', () => {
  it('is null when the study has no report yet', async () => {
    answerReportWith({ statusCode: 404, error: 'Not Found', message: 'the study has no report yet', code: 'NO_REPORT_YET' });
    await expect(fetchStudyReport(STUDY)).resolves.toBeNull();
  });

  it('fails when the study does not exist', async () => {
    answerReportWith({ statusCode: 404, error: 'Not Found', message: 'study not found', code: 'NOT_FOUND' });
    const failure = fetchStudyReport(STUDY);
    await expect(failure).rejects.toBeInstanceOf(ApiError);
    await expect(failure).rejects.toMatchObject({ status: 404, message: 'study not found' });
  });
});
