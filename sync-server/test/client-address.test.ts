/**
 * LIMIT-5 behind a proxy: failed authentications count against the client address a trusted proxy
 * forwarded, never against the proxy itself, and X-Forwarded-For from anyone else is ignored.
 * Other loopback addresses (127.0.0.2, …) stand in for distinct machines: the default trusted
 * proxies are 127.0.0.1 and ::1 only.
 */

import { clientAddress, parseAddressList } from '@pacs/server-kit/address-list';
import { CLOSE_CODES } from '@pacs/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config';
import { newDocName, rawSocket, startServer, token, waitFor } from './helpers';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

describe('client address (LIMIT-5)', () => {
  const trusted = parseAddressList('127.0.0.1,::1,10.0.0.0/8');
  it.each([
    { what: 'direct client, no header', socket: '198.51.100.7', xff: undefined, expected: '198.51.100.7' },
    { what: 'forged header from an untrusted socket', socket: '198.51.100.7', xff: '203.0.113.1', expected: '198.51.100.7' },
    { what: 'IPv4-mapped untrusted socket', socket: '::ffff:198.51.100.7', xff: '203.0.113.1', expected: '198.51.100.7' },
    { what: 'one trusted proxy', socket: '127.0.0.1', xff: '203.0.113.1', expected: '203.0.113.1' },
    { what: 'IPv4-mapped trusted proxy', socket: '::ffff:127.0.0.1', xff: '203.0.113.1', expected: '203.0.113.1' },
    { what: 'client-written prefix is ignored', socket: '127.0.0.1', xff: '192.0.2.99, 203.0.113.1', expected: '203.0.113.1' },
    { what: 'chain of trusted proxies', socket: '127.0.0.1', xff: '203.0.113.1, 10.1.2.3', expected: '203.0.113.1' },
    { what: 'repeated headers', socket: '127.0.0.1', xff: ['192.0.2.99', '203.0.113.1'], expected: '203.0.113.1' },
    { what: 'garbage right of the client', socket: '127.0.0.1', xff: '203.0.113.1, <script>', expected: '127.0.0.1' },
    { what: 'empty header', socket: '127.0.0.1', xff: '', expected: '127.0.0.1' },
    { what: 'only trusted hops', socket: '127.0.0.1', xff: '10.0.0.5', expected: '10.0.0.5' },
    { what: 'IPv6 client through a proxy', socket: '::1', xff: '2001:db8::7', expected: '2001:db8::7' },
    { what: 'no socket address', socket: undefined, xff: '203.0.113.1', expected: 'unknown' },
  ])('$what → $expected', ({ socket, xff, expected }) => {
    expect(clientAddress(socket, xff, trusted)).toBe(expected);
  });

  it.each(['localhost', '10.0.0.0/33', '1.2.3.4/8/1', '::1/129', '1.2.3'])('CONF-1: PACS_SYNC_TRUSTED_PROXIES=%s is refused', (value) => {
    expect(() => loadConfig({ PACS_SYNC_TRUSTED_PROXIES: value })).toThrow(/PACS_SYNC_TRUSTED_PROXIES/);
  });

  it.each([
    { list: 'loopback', trusted: ['127.0.0.2', '::1'], untrusted: ['10.0.0.1', '198.51.100.7'] },
    {
      list: 'loopback,uniquelocal',
      trusted: ['127.0.0.1', '10.1.2.3', '172.20.0.5', '192.168.1.1', 'fd00::1'],
      untrusted: ['172.32.0.1', '8.8.8.8'],
    },
    { list: 'linklocal', trusted: ['169.254.1.1', 'fe80::1'], untrusted: ['127.0.0.1'] },
  ])('names the API also accepts: $list', ({ list, trusted: good, untrusted }) => {
    const blocks = parseAddressList(list);
    for (const proxy of good) expect(clientAddress(proxy, '203.0.113.1', blocks), proxy).toBe('203.0.113.1');
    for (const peer of untrusted) expect(clientAddress(peer, '203.0.113.1', blocks), peer).toBe(peer);
  });

  it('defaults to loopback', () => {
    const config = loadConfig({});
    expect(clientAddress('127.0.0.1', '203.0.113.1', config.trustedProxies)).toBe('203.0.113.1');
    expect(clientAddress('::1', '203.0.113.1', config.trustedProxies)).toBe('203.0.113.1');
    expect(clientAddress('127.0.0.2', '203.0.113.1', config.trustedProxies)).toBe('127.0.0.2');
  });
});

describe('LIMIT-5: one client’s failures never refuse another', () => {
  async function flood(port: number, doc: string, count: number, options: Parameters<typeof rawSocket>[3]) {
    for (let i = 0; i < count; i++) {
      const s = await rawSocket(port, doc, 'garbage', options);
      expect((await s.closed).code).toBe(CLOSE_CODES.unauthorized);
    }
  }
  async function connects(port: number, doc: string, options: Parameters<typeof rawSocket>[3]) {
    const s = await rawSocket(port, doc, token(doc), options);
    await waitFor(() => s.messages.length > 0, 'document served');
    s.ws.close();
  }

  const viaProxy = (client: string) => ({ headers: { 'x-forwarded-for': client } });
  it.each([
    {
      what: 'a flood from A through the trusted proxy does not refuse B through the same proxy',
      attacker: viaProxy('203.0.113.1'),
      victim: viaProxy('203.0.113.2'),
      attackerAgain: viaProxy('203.0.113.1'),
    },
    {
      what: 'a flood with a forged X-Forwarded-For from an untrusted socket counts against that socket',
      attacker: { localAddress: '127.0.0.2', headers: { 'x-forwarded-for': '203.0.113.2' } },
      victim: viaProxy('203.0.113.2'),
      attackerAgain: { localAddress: '127.0.0.2', headers: { 'x-forwarded-for': '203.0.113.9' } },
    },
    {
      what: 'a direct flood does not refuse a valid token from another address',
      attacker: { localAddress: '127.0.0.3' },
      victim: { localAddress: '127.0.0.4' },
      attackerAgain: { localAddress: '127.0.0.3' },
    },
    {
      what: 'a flood spoofing the victim through a client-written prefix does not refuse the victim',
      attacker: viaProxy('203.0.113.2, 203.0.113.1'),
      victim: viaProxy('203.0.113.2'),
      attackerAgain: viaProxy('203.0.113.1'),
    },
  ])('$what', async ({ attacker, victim, attackerAgain }) => {
    const { server, port } = await startServer({ env: { PACS_SYNC_AUTH_FAILURES_PER_MINUTE: '5' } });
    cleanups.push(() => server.stop());
    const doc = newDocName();
    await flood(port, doc, 5, attacker);
    await connects(port, doc, victim);
    await expect(rawSocket(port, doc, token(doc), attackerAgain)).rejects.toThrow('HTTP 429');
  });
});
