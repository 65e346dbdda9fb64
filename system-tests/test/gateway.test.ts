/**
 * The development gateway (scripts/gateway.mjs), the one origin of `npm start`: hostile request
 * targets and headers get a 4xx and never take it down, static files never leave the web root,
 * it sends the same security headers as the production nginx (checked against a real nginx on
 * the shipped configuration), and it replaces a client-supplied X-Forwarded-For on HTTP and
 * WebSocket upgrades alike; hop-by-hop headers (above all the API's keep-alive hint) end at it.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { startGateway } from '../../scripts/gateway.mjs';
import { freePort } from '../../scripts/redis.mjs';

const ROOT = path.resolve(import.meta.dirname, '../..');
const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));
const SECRET = 'secret-outside-the-web-root';

let dir: string;
let webRoot: string;
let rootOverride: (() => string) | undefined;
let gateway: http.Server;
let port: number;
let api: http.Server;
let sync: WebSocketServer;
const apiRequests: http.IncomingHttpHeaders[] = [];
const upgrades: http.IncomingHttpHeaders[] = [];
const gatewayLog: string[] = [];

interface RawReply {
  status: number | null;
  head: string;
  body: string;
}

/** Sends bytes as they are (no client-side normalisation) and reads one reply. */
function rawRequest(bytes: string | Buffer, timeoutMs = 15_000): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no reply within ${timeoutMs} ms; got ${JSON.stringify(received.toString('latin1').slice(0, 200))}`));
    }, timeoutMs);
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      const text = received.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      const head = end >= 0 ? text.slice(0, end) : text;
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1];
      resolve({ status: status ? Number(status) : null, head, body: end >= 0 ? text.slice(end + 4) : '' });
    };
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      const text = received.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, end))?.[1];
      if (/^HTTP\/1\.1 101/.test(text) || (length !== undefined && received.length >= end + 4 + Number(length))) finish();
    });
    socket.on('close', finish);
    socket.on('error', () => undefined); // a reset after the reply still counts as the reply
    socket.write(bytes);
  });
}

const get = (target: string, headers = '') => `GET ${target} HTTP/1.1\r\nHost: localhost\r\n${headers}Connection: close\r\n\r\n`;

async function stillServes(): Promise<void> {
  const response = await fetch(`http://127.0.0.1:${port}/index.html`);
  expect(response.status).toBe(200);
  expect(await response.text()).toContain('gateway test shell');
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'pacs-gateway-'));
  chmodSync(dir, 0o755); // nginx's workers run as an unprivileged user
  webRoot = path.join(dir, 'dist');
  mkdirSync(path.join(webRoot, 'assets'), { recursive: true });
  writeFileSync(path.join(webRoot, 'index.html'), '<!doctype html><title>gateway test shell</title>');
  writeFileSync(path.join(webRoot, 'assets', 'app-1234.js'), 'console.log(1)');
  // A sibling whose name starts with the web root's: a prefix test without a separator lets it through.
  mkdirSync(`${webRoot}-evil`);
  writeFileSync(path.join(`${webRoot}-evil`, 'secret.txt'), SECRET);
  writeFileSync(path.join(dir, 'secret.txt'), SECRET);

  api = http.createServer((request, response) => {
    apiRequests.push(request.headers);
    if (request.url === '/api/hop-by-hop') {
      // What a fastify API sends (a 72 s keep-alive hint), plus every other per-connection header.
      response.writeHead(200, {
        'content-type': 'application/json',
        'content-length': 11,
        connection: 'keep-alive, x-upstream-hop',
        'keep-alive': 'timeout=72',
        'x-upstream-hop': 'for the gateway only',
        'proxy-connection': 'keep-alive',
        upgrade: 'h2c',
      });
      response.end('{"ok":true}');
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end('{"ok":true}');
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  sync = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  sync.on('connection', (socket, request) => {
    upgrades.push(request.headers);
    socket.on('message', (data, binary) => socket.send(data, { binary }));
  });
  await new Promise((resolve) => sync.once('listening', resolve));
  const apiTarget = { host: '127.0.0.1', port: (api.address() as AddressInfo).port };

  gateway = await startGateway({
    port: 0,
    host: '127.0.0.1',
    webRoot: () => (rootOverride ? rootOverride() : webRoot),
    upstreams: [
      ['/api', apiTarget],
      ['/health', apiTarget],
      ['/sync', { host: '127.0.0.1', port: (sync.address() as AddressInfo).port }],
      ['/down', { host: '127.0.0.1', port: await freePort() }],
    ],
    log: (line: string) => gatewayLog.push(line),
  });
  port = (gateway.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((resolve) => gateway?.close(resolve));
  gateway?.closeAllConnections();
  await new Promise((resolve) => sync?.close(resolve));
  await new Promise((resolve) => api?.close(resolve));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('hostile requests get an answer and never take the gateway down', () => {
  const badTargets: [string, string][] = [
    ['truncated percent-encoding', '/%E0%A4%A'],
    ['lone percent sign', '/%'],
    ['non-hex percent-encoding', '/%zz/index.html'],
    ['overlong UTF-8 dots', '/%C0%AE%C0%AE/%C0%AE%C0%AE/etc/passwd'],
    ['invalid UTF-8 byte', '/%FF'],
    ['encoded NUL', '/index.html%00.js'],
    ['encoded slash traversal', '/..%2f..%2f..%2f..%2fetc%2fpasswd'],
    ['encoded dot traversal', '/%2e%2e/%2e%2e/%2e%2e/etc/passwd'],
    ['encoded backslash traversal', '/..%5c..%5c..%5cetc%5cpasswd'],
    ['traversal to a file beside the web root', '/..%2fsecret.txt'],
    ['traversal to a sibling sharing the root’s prefix', `/..%2f${'dist-evil'}%2fsecret.txt`],
    ['traversal through an upstream prefix', '/api/..%2f..%2fmetrics'],
    ['malformed encoding on an upstream prefix', '/api/%E0%A4%A'],
    ['absolute-form target', 'http://127.0.0.1/etc/passwd'],
    ['absolute-form target to another host', 'http://internal.example/api/users'],
    ['asterisk-form target', '*'],
  ];
  it.each(badTargets)('%s → 400, and the gateway still serves', async (_name, target) => {
    const reply = await rawRequest(get(target));
    expect(reply.status, reply.head).toBe(400);
    expect(reply.body).not.toContain(SECRET);
    expect(reply.body).not.toContain('root:');
    await stillServes();
  });

  const badMessages: [string, number, string | Buffer][] = [
    ['raw NUL in the request line', 400, 'GET /\0 HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['a TLS handshake on the plain port', 400, Buffer.from('16030100a5010000a10303', 'hex')],
    ['a request line of garbage', 400, 'HELLO\r\n\r\n'],
    ['an oversize URL', 431, get(`/${'a'.repeat(20_000)}`)],
    ['oversize headers', 431, get('/index.html', `X-Big: ${'b'.repeat(20_000)}\r\n`)],
    ['ten thousand headers', 431, get('/index.html', 'X-A: 1\r\n'.repeat(10_000))],
    ['a header line without a colon', 400, 'GET / HTTP/1.1\r\nHost: x\r\nbroken header\r\n\r\n'],
    ['a CONNECT (forward-proxy) request', 400, 'CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n'],
    [
      'Content-Length together with Transfer-Encoding (request smuggling)',
      400,
      'GET /index.html HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n',
    ],
  ];
  it.each(badMessages)('%s → %i, and the gateway still serves', async (_name, status, bytes) => {
    const reply = await rawRequest(bytes);
    expect(reply.status, reply.head).toBe(status);
    await stillServes();
  });

  // A complete WebSocket handshake, so only the part under test can make it fail.
  const upgrade = (target: string, key = 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n') =>
    `GET ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n${key}\r\n`;
  const badUpgrades: [string, number, string][] = [
    ['an upgrade outside /sync', 404, upgrade('/index.html')],
    ['an upgrade with a malformed encoding', 400, upgrade('/sync/%E0%A4%A')],
    ['an upgrade with traversal', 400, upgrade('/sync/..%2f..%2fapi')],
    ['an upgrade with an absolute-form target', 400, upgrade('http://127.0.0.1/sync/x')],
    ['an upgrade to a service that is down', 502, upgrade('/down/x')],
    ['an upgrade the sync-server refuses (no key)', 400, upgrade('/sync/report:1', '')],
    ['an upgrade to an unknown protocol', 400, upgrade('/sync/report:1').replace('websocket', 'h2c')],
  ];
  it.each(badUpgrades)('%s → %i, and the gateway still serves', async (_name, status, bytes) => {
    const reply = await rawRequest(bytes);
    expect(reply.status, reply.head).toBe(status);
    await stillServes();
  });

  it('an exception while handling one request is a 500 for that request only, logged without the URL', async () => {
    rootOverride = () => {
      throw new Error('web root unavailable');
    };
    try {
      const reply = await rawRequest(get('/worklist?patientName=DOE%5EJOHN'));
      expect(reply.status).toBe(500);
    } finally {
      rootOverride = undefined;
    }
    await stillServes();
    expect(gatewayLog.join('\n')).toContain('web root unavailable');
    expect(gatewayLog.join('\n')).not.toContain('DOE');
  });

  it('serves files inside the web root and the shell for client-side routes', async () => {
    const asset = await fetch(`http://127.0.0.1:${port}/assets/app-1234.js`);
    expect(asset.status).toBe(200);
    expect(await asset.text()).toBe('console.log(1)');
    const route = await fetch(`http://127.0.0.1:${port}/studies/1.2.3%2e4/report`);
    expect(route.status).toBe(200);
    expect(await route.text()).toContain('gateway test shell');
  });
});

describe('X-Forwarded-For is the client address, never what the client claims', () => {
  it('replaces a forged X-Forwarded-For and X-Forwarded-Proto on HTTP', async () => {
    apiRequests.length = 0;
    const response = await fetch(`http://127.0.0.1:${port}/api/anything`, {
      headers: { 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'https' },
    });
    expect(response.status).toBe(200);
    expect(apiRequests.at(-1)?.['x-forwarded-for']).toBe('127.0.0.1');
    expect(apiRequests.at(-1)?.['x-forwarded-proto']).toBe('http');
  });

  it('replaces a forged X-Forwarded-For and sets X-Forwarded-Proto on a WebSocket upgrade', async () => {
    upgrades.length = 0;
    const socket = new WebSocket(`ws://127.0.0.1:${port}/sync/report:0000?token=abc`, {
      headers: { 'X-Forwarded-For': '203.0.113.9', 'x-forwarded-proto': 'https' },
    });
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    const reply = new Promise<string>((resolve) => socket.once('message', (data) => resolve(String(data))));
    socket.send('ping through the gateway');
    expect(await reply).toBe('ping through the gateway');
    socket.close();
    expect(upgrades).toHaveLength(1);
    expect(upgrades[0]?.['x-forwarded-for']).toBe('127.0.0.1');
    expect(upgrades[0]?.['x-forwarded-proto']).toBe('http');
  });
});

describe('hop-by-hop headers end at the gateway', () => {
  it("the client sees the gateway's own keep-alive hint, never the API's longer one", async () => {
    const reply = await rawRequest(`GET /api/hop-by-hop HTTP/1.1\r\nHost: localhost\r\n\r\n`);
    expect(reply.status).toBe(200);
    const headers = reply.head.toLowerCase().split('\r\n');
    // A client keeps an idle connection as long as the hint says; the gateway must not close it first.
    const hints = headers.filter((line) => line.startsWith('keep-alive:'));
    expect(hints).toEqual([`keep-alive: timeout=${gateway.keepAliveTimeout / 1000}`]);
    expect(headers.filter((line) => line.startsWith('connection:'))).toEqual(['connection: keep-alive']);
    for (const name of ['x-upstream-hop', 'proxy-connection', 'upgrade']) {
      expect(headers.some((line) => line.startsWith(`${name}:`))).toBe(false);
    }
    expect(reply.body).toBe('{"ok":true}');
  });

  const sentByClients: [string, string, string[], Record<string, string>][] = [
    ['Keep-Alive and Connection', 'Connection: keep-alive\r\nKeep-Alive: timeout=1\r\n', ['keep-alive'], {}],
    [
      'Proxy-Connection, TE, Trailer',
      'Proxy-Connection: close\r\nTE: trailers\r\nTrailer: x-sum\r\n',
      ['proxy-connection', 'te', 'trailer'],
      {},
    ],
    ['a header the Connection header names', 'Connection: x-hop\r\nX-Hop: 1\r\n', ['x-hop'], {}],
    [
      'Connection naming X-Forwarded-For (the address is still set)',
      'Connection: x-forwarded-for\r\nX-Forwarded-For: 203.0.113.9\r\n',
      [],
      { 'x-forwarded-for': '127.0.0.1' },
    ],
    [
      'Connection naming Host and Authorization (Host still routes; the client may drop its own)',
      'Connection: host, authorization\r\nAuthorization: Bearer abc\r\n',
      ['authorization'],
      { host: 'localhost' },
    ],
  ];
  it.each(sentByClients)('%s: not passed on to the API', async (_name, extra, absent, present) => {
    apiRequests.length = 0;
    const reply = await rawRequest(get('/api/anything', extra));
    expect(reply.status).toBe(200);
    const seen = apiRequests.at(-1) ?? {};
    for (const name of absent) expect(seen[name]).toBeUndefined();
    for (const [name, value] of Object.entries(present)) expect(seen[name]).toBe(value);
    // The gateway speaks to the API on its own pooled connection.
    expect(seen.connection).toBe('keep-alive');
  });

  it('a chunked request body still reaches the API whole', async () => {
    const bodies: string[] = [];
    const echo = http.createServer((request, response) => {
      let body = '';
      request
        .on('data', (chunk) => (body += chunk))
        .on('end', () => {
          bodies.push(body);
          response.end('{}');
        });
    });
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    const front = await startGateway({
      port: 0,
      host: '127.0.0.1',
      webRoot,
      upstreams: [['/api', { host: '127.0.0.1', port: (echo.address() as AddressInfo).port }]],
      log: () => undefined,
    });
    try {
      const reply = await new Promise<number>((resolve, reject) => {
        const request = http.request(
          { port: (front.address() as AddressInfo).port, host: '127.0.0.1', method: 'POST', path: '/api/x' },
          (r) => {
            r.resume();
            resolve(r.statusCode ?? 0);
          },
        );
        request.on('error', reject);
        request.setHeader('transfer-encoding', 'chunked');
        request.write('first part, ');
        request.end('second part');
      });
      expect(reply).toBe(200);
      expect(bodies).toEqual(['first part, second part']);
    } finally {
      await new Promise((resolve) => front.close(resolve));
      front.closeAllConnections();
      await new Promise((resolve) => echo.close(resolve));
    }
  });
});

describe('security headers match the production nginx', () => {
  let nginx: ChildProcess | undefined;
  let nginxBase: string;

  beforeAll(async () => {
    if (!NGINX) throw new Error('nginx is not installed: apt-get install -y nginx (Debian), or add it to the test packages');
    const nginxDir = path.join(dir, 'nginx');
    mkdirSync(nginxDir);
    const nginxPort = await freePort();
    // The shipped configuration with only addresses and paths changed, so a header added in any
    // of its static locations (or in the included file) shows up here.
    let conf = readFileSync(path.join(ROOT, 'web', 'nginx', 'nginx.conf'), 'utf8');
    const rewrites: [string, string][] = [
      ['pid /tmp/nginx.pid;', `pid ${nginxDir}/nginx.pid;`],
      [' /tmp/nginx-', ` ${nginxDir}/nginx-`],
      ['access_log /dev/stdout pacs;', `access_log ${nginxDir}/access.log pacs;`],
      ['error_log /dev/stderr warn;', `error_log ${nginxDir}/error.log warn;`],
      ['server api:3000;', `server 127.0.0.1:${(api.address() as AddressInfo).port};`],
      ['server sync-server:1234;', 'server 127.0.0.1:9;'],
      ['listen 8080;', `listen 127.0.0.1:${nginxPort};`],
      ['root /usr/share/nginx/html;', `root ${webRoot};`],
    ];
    for (const [from, to] of rewrites) {
      if (!conf.includes(from)) throw new Error(`web/nginx/nginx.conf no longer contains "${from}"`);
      conf = conf.replaceAll(from, to);
    }
    writeFileSync(path.join(nginxDir, 'nginx.conf'), conf);
    for (const file of ['proxy-headers.conf', 'security-headers.conf']) {
      writeFileSync(path.join(nginxDir, file), readFileSync(path.join(ROOT, 'web', 'nginx', file)));
    }
    writeFileSync(path.join(nginxDir, 'mime.types'), readFileSync('/etc/nginx/mime.types'));
    const check = spawnSync(NGINX, ['-t', '-p', nginxDir, '-c', path.join(nginxDir, 'nginx.conf')], { encoding: 'utf8' });
    if (check.status !== 0) throw new Error(`nginx -t failed:\n${check.stderr}`);
    nginx = spawn(NGINX, ['-p', nginxDir, '-c', path.join(nginxDir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: 'ignore' });
    nginxBase = `http://127.0.0.1:${nginxPort}`;
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        await fetch(`${nginxBase}/index.html`);
        break;
      } catch {
        if (Date.now() > deadline || nginx.exitCode !== null) throw new Error('nginx did not start');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }, 60_000);

  afterAll(async () => {
    if (nginx?.pid && nginx.exitCode === null) {
      const exited = new Promise((resolve) => nginx?.once('exit', resolve));
      nginx.kill('SIGQUIT');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
      if (nginx.exitCode === null) nginx.kill('SIGKILL');
    }
  });

  /** Every header of a static answer except those that describe the body or the transfer. */
  const PER_RESPONSE = new Set([
    'accept-ranges',
    'cache-control',
    'connection',
    'content-encoding',
    'content-length',
    'content-type',
    'date',
    'etag',
    'keep-alive',
    'last-modified',
    'server',
    'transfer-encoding',
    'vary',
  ]);
  const policyHeaders = (response: Response) =>
    Object.fromEntries([...response.headers].filter(([name]) => !PER_RESPONSE.has(name)).sort(([a], [b]) => a.localeCompare(b)));

  it.each(['/', '/index.html', '/assets/app-1234.js', '/studies/1.2.3/report'])('%s carries the same headers as nginx', async (target) => {
    const [fromNginx, fromGateway] = await Promise.all([fetch(`${nginxBase}${target}`), fetch(`http://127.0.0.1:${port}${target}`)]);
    expect(fromNginx.status).toBe(200);
    expect(fromGateway.status).toBe(200);
    const expected = policyHeaders(fromNginx);
    // Plain http in development: HSTS and upgrade-insecure-requests would lock the browser out.
    delete expected['strict-transport-security'];
    if (expected['content-security-policy']) {
      expected['content-security-policy'] = expected['content-security-policy']
        .split(';')
        .map((directive) => directive.trim())
        .filter((directive) => directive !== 'upgrade-insecure-requests')
        .join('; ');
    }
    expect(Object.keys(expected)).toContain('content-security-policy');
    expect(policyHeaders(fromGateway)).toEqual(expected);
  });

  it("keeps the API's keep-alive hint to itself, like the gateway", async () => {
    const response = await fetch(`${nginxBase}/api/hop-by-hop`);
    expect(response.status).toBe(200);
    expect(response.headers.get('keep-alive')).toBeNull();
    expect(await response.text()).toBe('{"ok":true}');
  });

  it('sends them on its own error answers too', async () => {
    const reply = await rawRequest(get('/%E0%A4%A'));
    expect(reply.status).toBe(400);
    expect(reply.head.toLowerCase()).toContain('x-content-type-options: nosniff');
    expect(reply.head.toLowerCase()).toContain('content-security-policy:');
  });
});

describe('several instances behind one prefix', () => {
  it('takes them in turn for requests and WebSocket upgrades', async () => {
    const seen: string[] = [];
    const instances = await Promise.all(
      ['a', 'b'].map(async (name) => {
        const server = http.createServer((_request, response) => {
          seen.push(`http:${name}`);
          response.end(name);
        });
        const wss = new WebSocketServer({ server });
        wss.on('connection', (socket) => {
          seen.push(`ws:${name}`);
          socket.close();
        });
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        return { server, port: (server.address() as AddressInfo).port };
      }),
    );
    const targets = instances.map((i) => ({ host: '127.0.0.1', port: i.port }));
    const front = await startGateway({
      port: 0,
      host: '127.0.0.1',
      webRoot: os.tmpdir(),
      upstreams: [
        ['/api', targets],
        ['/sync', targets],
      ],
    });
    const frontPort = (front.address() as AddressInfo).port;
    try {
      for (let i = 0; i < 4; i += 1) await (await fetch(`http://127.0.0.1:${frontPort}/api/x`)).text();
      for (let i = 0; i < 2; i += 1) {
        const socket = new WebSocket(`ws://127.0.0.1:${frontPort}/sync/doc`);
        await new Promise((resolve) => socket.once('close', resolve));
      }
      expect(seen.filter((s) => s.startsWith('http:')).sort()).toEqual(['http:a', 'http:a', 'http:b', 'http:b']);
      expect(seen.filter((s) => s.startsWith('ws:')).sort()).toEqual(['ws:a', 'ws:b']);
    } finally {
      await new Promise((resolve) => front.close(resolve));
      for (const i of instances) i.server.closeAllConnections();
      await Promise.all(instances.map((i) => new Promise((resolve) => i.server.close(resolve))));
    }
  });
});
