/**
 * New passwords are refused when common (the shipped list, with digits and symbols around it or
 * letters swapped for look-alikes), a keyboard or digit run, a repeat, or the account's own
 * e-mail or name; on every route that sets one: create user, admin reset, own change.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { passwordProblem } from '../src/auth/password-policy';
import { DEV_PASSWORDS } from '../src/config';
import { bearer, createTestApp, TEST_PASSWORD, type TestApp } from './support/app';

let t: TestApp;
let admin: { token: string };
beforeAll(async () => {
  t = await createTestApp();
  admin = await t.userWithToken('admin');
});
afterAll(async () => t?.close());

const OWNER = { email: 'jane.doe@hospital.example', name: 'Jane Doering' };

const CASES: [password: string, code: string | null][] = [
  ['password1234', 'COMMON_PASSWORD'],
  ['Password2024!', 'COMMON_PASSWORD'],
  ['P@ssw0rd12345', 'COMMON_PASSWORD'],
  ['!!qwerty123456', 'COMMON_PASSWORD'],
  ['iloveyou1234', 'COMMON_PASSWORD'],
  ['passwordpassword', 'COMMON_PASSWORD'],
  ['monkeymonkey1', 'COMMON_PASSWORD'],
  ['123456789012', 'COMMON_PASSWORD'],
  ['qwertyuiop[]', 'COMMON_PASSWORD'],
  ['zyxwvutsrqpo', 'COMMON_PASSWORD'],
  ['abcabcabcabc', 'COMMON_PASSWORD'],
  ['aaaaaaaaaaaa', 'COMMON_PASSWORD'],
  ['1q2w3e4r5t6y', 'COMMON_PASSWORD'],
  ['Radiology2025!', 'COMMON_PASSWORD'],
  ['Sommer2024!!!', 'COMMON_PASSWORD'],
  [DEV_PASSWORDS.admin, 'COMMON_PASSWORD'],
  [DEV_PASSWORDS.radiologist, 'COMMON_PASSWORD'],
  ['jane.doe@hospital.example', 'PASSWORD_MATCHES_ACCOUNT'],
  ['janedoe-2024-xx', 'PASSWORD_MATCHES_ACCOUNT'],
  ['JaneDoe123456', 'PASSWORD_MATCHES_ACCOUNT'],
  ['my-name-is-Doering', 'PASSWORD_MATCHES_ACCOUNT'],
  ['correct-horse-battery', null],
  ['velvet-otter-cinnamon', null],
  ['Tr4m!ne-Kl0ster-92', null],
  ['Zürich-Möwe-Spätzle', null],
];

describe('password policy', () => {
  it.each(CASES)('%s → %s', (password, code) => {
    expect(passwordProblem(password, OWNER)).toBe(code);
  });

  it.each(CASES)('creating a user with %s → %s', async (password, code) => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/users',
      headers: bearer(admin.token),
      payload: { email: `${Math.random().toString(36).slice(2)}-${OWNER.email}`, name: OWNER.name, role: 'resident', password },
    });
    if (code) {
      expect(response.statusCode).toBe(400);
      expect(response.json().code).toBe(code);
      expect(response.json().message).not.toContain(password);
    } else {
      expect(response.statusCode).toBe(201);
    }
  });

  it("an admin reset and the user's own change check against that user's e-mail and name", async () => {
    const user = await t.userWithToken('attending', { email: 'maximilian.berger@hospital.example' });
    const reset = await t.app.inject({
      method: 'POST',
      url: `/api/users/${user.id}/password`,
      headers: bearer(admin.token),
      payload: { password: 'Maximilian-2025' },
    });
    expect(reset.statusCode).toBe(400);
    expect(reset.json().code).toBe('PASSWORD_MATCHES_ACCOUNT');
    const change = (newPassword: string) =>
      t.app.inject({
        method: 'POST',
        url: '/api/auth/password',
        headers: bearer(user.token),
        payload: { currentPassword: TEST_PASSWORD, newPassword },
      });
    expect((await change('berger-maximilian')).json().code).toBe('PASSWORD_MATCHES_ACCOUNT');
    expect((await change('letmein123456')).json().code).toBe('COMMON_PASSWORD');
    expect((await change('granite-heron-lantern')).statusCode).toBe(200);
  });
});
