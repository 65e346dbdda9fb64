/**
 * Which passwords are refused besides too short or too long ones: the common ones (and their
 * obvious variants), keyboard and digit runs, repeats, and the account's own e-mail or name. The
 * list ships with the API (common-passwords.txt); everything here is local and synchronous.
 */
import { readFileSync } from 'node:fs';

const COMMON = new Set(
  readFileSync(new URL('./common-passwords.txt', import.meta.url), 'utf8')
    .split('\n')
    .map((line) => line.trim().toLowerCase())
    .filter((line) => line && !line.startsWith('#')),
);

/** Runs people type instead of choosing: digits, keyboard rows, the alphabet, both directions. */
const RUNS = [
  '01234567890123456789',
  'qwertyuiopasdfghjklzxcvbnm',
  'qwertzuiopasdfghjklyxcvbnm',
  'azertyuiopqsdfghjklmwxcvbn',
  'abcdefghijklmnopqrstuvwxyz',
];
const RUNS_BOTH_WAYS = [...RUNS, ...RUNS.map((run) => [...run].reverse().join(''))];

const LEET: Record<string, string> = {
  '0': 'o',
  '1': 'i',
  '3': 'e',
  '4': 'a',
  '5': 's',
  '7': 't',
  '8': 'b',
  '@': 'a',
  $: 's',
  '!': 'i',
  '+': 't',
};

export type PasswordProblem = 'COMMON_PASSWORD' | 'PASSWORD_MATCHES_ACCOUNT';

export interface PasswordOwner {
  email: string;
  name: string;
}

const letters = (text: string) => text.replace(/[^\p{L}\p{N}]+/gu, '');
/** Digits and symbols around a stem: password2024!, !!qwerty, 2024summer. */
const stem = (text: string) => text.replace(/^[^\p{L}]+|[^\p{L}]+$/gu, '');
const unleet = (text: string) => [...text].map((c) => LEET[c] ?? c).join('');

function isCommon(password: string): boolean {
  const lower = password.normalize('NFKC').toLowerCase();
  const compact = letters(lower);
  const forms = new Set(
    [lower, stem(lower), unleet(lower), unleet(stem(lower)), stem(unleet(lower))].flatMap((form) => [form, letters(form)]),
  );
  for (const form of forms) {
    if (!form) continue;
    if (COMMON.has(form)) return true;
    // The same stem twice or more: passwordpassword, monkeymonkey1.
    const repeated = /^(.+?)\1+$/u.exec(form);
    if (repeated && (COMMON.has(repeated[1]!) || repeated[1]!.length <= 4)) return true;
  }
  // Nothing but a run (123456789012, qwertyuiop[], zyxwvutsrqpo), whatever the symbols around it.
  return compact.length > 0 && compact.length >= lower.length - 2 && RUNS_BOTH_WAYS.some((run) => run.includes(compact));
}

function matchesOwner(password: string, owner: PasswordOwner): boolean {
  const lower = letters(password.normalize('NFKC').toLowerCase());
  const email = owner.email.trim().toLowerCase();
  const local = letters(email.split('@')[0] ?? '');
  const name = letters(owner.name.normalize('NFKC').toLowerCase());
  // Each part of the name and of the e-mail's local part (jane.doe → jane, doe) long enough to mean it.
  const parts = `${owner.name} ${email.split('@')[0] ?? ''}`
    .normalize('NFKC')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((part) => part.length >= 4);
  const strippedOfDigits = lower.replace(/\p{N}+/gu, '');
  if ([letters(email), local, name].some((own) => own.length >= 3 && (lower.includes(own) || strippedOfDigits === own))) return true;
  return parts.some((part) => lower.includes(part));
}

/** The first reason `password` is refused, or null. */
export function passwordProblem(password: string, owner?: PasswordOwner): PasswordProblem | null {
  if (isCommon(password)) return 'COMMON_PASSWORD';
  if (owner && matchesOwner(password, owner)) return 'PASSWORD_MATCHES_ACCOUNT';
  return null;
}
