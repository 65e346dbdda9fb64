/** PACS_PUBLIC_URL: the origin DICOMweb links point at, validated at start-up, never read from a request. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config';

const base = { PACS_ENV: 'test', PACS_JWT_SECRET: 'test-secret-that-is-long-enough-0123456789' };

describe('PACS_PUBLIC_URL', () => {
  it('defaults to the gateway port on localhost', () => {
    expect(loadConfig(base).publicUrl).toEqual({ proto: 'http', host: 'localhost:8080' });
    expect(loadConfig({ ...base, PACS_HTTP_PORT: '9090' }).publicUrl).toEqual({ proto: 'http', host: 'localhost:9090' });
  });

  it.each([
    ['https://pacs.example.org', { proto: 'https', host: 'pacs.example.org' }],
    ['https://pacs.example.org:8443/', { proto: 'https', host: 'pacs.example.org:8443' }],
    ['http://10.0.0.5:8080', { proto: 'http', host: '10.0.0.5:8080' }],
    ['http://[::1]:8080', { proto: 'http', host: '[::1]:8080' }],
  ])('takes the origin %s', (value, expected) => {
    expect(loadConfig({ ...base, PACS_PUBLIC_URL: value }).publicUrl).toEqual(expected);
  });

  it.each([
    'pacs.example.org',
    'ftp://pacs.example.org',
    'https://pacs.example.org/pacs',
    'https://pacs.example.org/?x=1',
    'https://pacs.example.org/#x',
    'https://user:pw@pacs.example.org',
    'https://pacs.example.org;proto=http',
    'https://',
  ])('refuses %s, naming the variable', (value) => {
    expect(() => loadConfig({ ...base, PACS_PUBLIC_URL: value })).toThrow(/PACS_PUBLIC_URL/);
  });
});
