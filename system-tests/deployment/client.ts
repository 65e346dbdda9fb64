/**
 * What a user's client does against a running system, through its front door only (nginx, or the
 * gateway of `npm start`): sign in (with the second factor where the role needs one), call the API,
 * send a study with DCMTK's storescu, co-edit a report through /sync and sign it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { appendToSection, type EditorClient, editorClient } from '@pacs/api/testing/sync-server';
import { generateStudy, type StudySpec, writeStudyFiles } from '@pacs/test-kit/demo-studies';
import { generateSync } from 'otplib';
import * as Y from 'yjs';

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

export interface Session {
  token: string;
  call(method: string, url: string, body?: unknown): Promise<Response>;
  json<T>(method: string, url: string, body?: unknown): Promise<T>;
}

export function session(baseUrl: string, token: string): Session {
  const call = (method: string, url: string, body?: unknown) =>
    fetch(`${baseUrl}${url}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  return {
    token,
    call,
    async json<T>(method: string, url: string, body?: unknown): Promise<T> {
      const response = await call(method, url, body);
      if (!response.ok) throw new Error(`${method} ${url}: ${response.status} ${await response.text()}`);
      return (await response.json()) as T;
    },
  };
}

async function post(baseUrl: string, url: string, body: unknown): Promise<Response> {
  return fetch(`${baseUrl}${url}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

/** The code an authenticator app shows; `stepsAhead` picks a later 30-second window (codes are single-use). */
export const totp = (secret: string, stepsAhead = 0) => generateSync({ secret, epoch: Math.floor(Date.now() / 1000) + stepsAhead * 30 });

/**
 * Signs in. An account that must use a second factor and has none enrols one (returns its secret);
 * one that has it answers with a code of a window no earlier sign-in used.
 */
export async function signIn(
  baseUrl: string,
  email: string,
  password: string,
  mfa: { secret?: string; window?: number } = {},
): Promise<{ session: Session; mfaSecret?: string }> {
  const login = await post(baseUrl, '/api/auth/login', { email, password });
  if (login.status !== 200) throw new Error(`login ${email}: ${login.status} ${await login.text()}`);
  const answer = (await login.json()) as { accessToken?: string; mfa?: 'verify' | 'enrol'; challenge?: string };
  if (answer.accessToken) return { session: session(baseUrl, answer.accessToken) };
  if (answer.mfa === 'enrol') {
    const enrolment = await post(baseUrl, '/api/auth/mfa/enrol', { challenge: answer.challenge });
    const { secret } = (await enrolment.json()) as { secret: string };
    const confirmed = await post(baseUrl, '/api/auth/mfa/enrol/confirm', { challenge: answer.challenge, code: totp(secret) });
    if (!confirmed.ok) throw new Error(`mfa enrol: ${confirmed.status} ${await confirmed.text()}`);
    return { session: session(baseUrl, ((await confirmed.json()) as { accessToken: string }).accessToken), mfaSecret: secret };
  }
  if (!mfa.secret) throw new Error(`login ${email}: a second factor is asked for and none is known`);
  const verified = await post(baseUrl, '/api/auth/mfa/verify', { challenge: answer.challenge, code: totp(mfa.secret, mfa.window ?? 1) });
  if (!verified.ok) throw new Error(`mfa verify: ${verified.status} ${await verified.text()}`);
  return { session: session(baseUrl, ((await verified.json()) as { accessToken: string }).accessToken), mfaSecret: mfa.secret };
}

/** Generates a small CT study and sends it with storescu to the DICOM port, as a modality would. */
export async function storeStudy(dicomPort: number, calledAet: string, spec: StudySpec, seed: number): Promise<string> {
  const study = generateStudy(spec, seed);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pacs-deploy-study-'));
  try {
    const files = await writeStudyFiles(dir, study);
    const sent = spawnSync('storescu', ['-aec', calledAet, '-aet', 'DEPLOY_TEST', '127.0.0.1', String(dicomPort), ...files], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    if (sent.status !== 0) throw new Error(`storescu failed (${sent.status}): ${sent.stderr}`);
    return study.studyInstanceUid;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A report template with the two sections the co-edit below writes into. */
export async function createTemplate(admin: Session, name: string): Promise<string> {
  const template = await admin.json<{ id: string }>('POST', '/api/templates', {
    name,
    modalities: ['CT'],
    sections: [
      { key: 'findings', title: 'Findings', defaultText: '' },
      { key: 'impression', title: 'Impression', defaultText: '' },
    ],
  });
  return template.id;
}

/** The resident takes the study and starts its report; answers the report's id. */
export async function startReport(resident: Session, studyId: string, templateId: string): Promise<string> {
  const me = await resident.json<{ id: string }>('GET', '/api/auth/me');
  await resident.json('PATCH', `/api/studies/${studyId}`, { assigneeId: me.id });
  return (await resident.json<{ id: string }>('POST', `/api/studies/${studyId}/report`, { templateId })).id;
}

/** A stock y-websocket client on the report's document, through the front door's /sync, once synced. */
export async function openEditor(baseUrl: string, who: Session, reportId: string): Promise<EditorClient> {
  const { token, document } = await who.json<{ token: string; document: string }>('POST', `/api/reports/${reportId}/session`);
  const client = editorClient(Number(new URL(baseUrl).port), document, token);
  try {
    await waitFor('the editor synced', async () => (client.synced() ? true : undefined), 60_000);
    return client;
  } catch (error) {
    client.destroy();
    throw error;
  }
}

/** The document's text as the editor holds it (ProseMirror's XML in Yjs). */
export const editorText = (doc: Y.Doc): string => doc.getXmlFragment('default').toString();

/**
 * The resident and the attending co-edit the report through /sync, a line each, until both see
 * both lines; the resident submits and the attending signs what their editor shows. Answers the
 * signed report's status.
 */
export async function coEditAndSign(
  baseUrl: string,
  resident: Session,
  attending: Session,
  reportId: string,
  lines: { findings: string; impression: string },
): Promise<string> {
  const residentEditor = await openEditor(baseUrl, resident, reportId);
  const attendingEditor = await openEditor(baseUrl, attending, reportId);
  try {
    appendToSection(residentEditor.doc, 'Findings', lines.findings);
    appendToSection(attendingEditor.doc, 'Impression', lines.impression);
    const bothLines = (doc: Y.Doc) => editorText(doc).includes(lines.findings) && editorText(doc).includes(lines.impression);
    await waitFor(
      'both edits on both desks',
      async () => (bothLines(residentEditor.doc) && bothLines(attendingEditor.doc) ? true : undefined),
      60_000,
    );
    await resident.json('POST', `/api/reports/${reportId}/submit`, {});
    const seen = attendingEditor.doc;
    const signed = await attending.json<{ status: string }>('POST', `/api/reports/${reportId}/finalize`, {
      stateVector: Buffer.from(Y.encodeStateVector(seen)).toString('base64'),
      snapshot: Buffer.from(Y.encodeSnapshot(Y.snapshot(seen))).toString('base64'),
    });
    return signed.status;
  } finally {
    residentEditor.destroy();
    attendingEditor.destroy();
  }
}
