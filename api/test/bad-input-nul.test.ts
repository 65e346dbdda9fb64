/**
 * A NUL character is never valid text here (PostgreSQL refuses it in text columns, C libraries cut
 * strings at it): every route refuses it in body, query or params with one 400 and a reason.
 */
import { randomUUID } from 'node:crypto';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestApp, type TestApp } from './support/app';

let t: TestApp;
let admin: { token: string };
let attending: { token: string };
beforeAll(async () => {
  t = await createTestApp();
  admin = await t.userWithToken('admin');
  attending = await t.userWithToken('attending');
});
afterAll(async () => t?.close());

type Case = [label: string, request: () => InjectOptions, where: RegExp];
const cases: Case[] = [
  [
    'login e-mail',
    () => ({ method: 'POST', url: '/api/auth/login', payload: { email: 'admin@pacs.local\u0000', password: 'x' } }),
    /body\.email/,
  ],
  [
    'login password',
    () => ({ method: 'POST', url: '/api/auth/login', payload: { email: 'a@b.c', password: 'pw\u0000' } }),
    /body\.password/,
  ],
  ['worklist q', () => ({ url: '/api/studies?q=%00', headers: bearer(attending.token) }), /query\.q/],
  ['worklist q in the middle', () => ({ url: '/api/studies?q=Do%00e', headers: bearer(attending.token) }), /query\.q/],
  ['users q', () => ({ url: '/api/users?q=a%00', headers: bearer(admin.token) }), /query\.q/],
  [
    'user name',
    () => ({
      method: 'POST',
      url: '/api/users',
      headers: bearer(admin.token),
      payload: { email: 'nul@pacs.local', name: 'Nul\u0000Name', role: 'resident', password: 'a-long-enough-password-1' },
    }),
    /body\.name/,
  ],
  ['user params', () => ({ url: '/api/users/%00', headers: bearer(admin.token) }), /params\.id/],
  [
    'report return comment',
    () => ({
      method: 'POST',
      url: `/api/reports/${randomUUID()}/return`,
      headers: bearer(attending.token),
      payload: { comment: 'see\u0000me' },
    }),
    /body\.comment/,
  ],
  [
    'nested template section',
    () => ({
      method: 'POST',
      url: '/api/templates',
      headers: bearer(admin.token),
      payload: { name: 'T', modalities: ['CT'], sections: [{ key: 'k', title: 'x\u0000' }] },
    }),
    /body\.sections\.0\.title/,
  ],
  [
    'a NUL in a property name',
    () => ({ method: 'POST', url: '/api/auth/login', payload: { email: 'a@b.c', password: 'x', 'p\u0000': 1 } }),
    /body/,
  ],
];

describe('NUL characters in any text input', () => {
  it.each(cases)('%s → 400 NUL_CHARACTER naming where', async (_label, request, where) => {
    const before = await t.app.db.models.User.count();
    const response = await t.app.inject(request());
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: 'NUL_CHARACTER' });
    expect(response.json().message).toMatch(/NUL/);
    expect(response.json().message).toMatch(where);
    expect(await t.app.db.models.User.count()).toBe(before);
  });

  it('still accepts the same requests without the NUL', async () => {
    const response = await t.app.inject({ url: '/api/studies?q=Doe', headers: bearer(attending.token) });
    expect(response.statusCode).toBe(200);
  });
});
