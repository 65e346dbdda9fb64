/**
 * The one origin for development and `npm start`: `/api`, `/health` and `/dicom-web` go to the
 * API, `/sync` (WebSocket) to the sync-server, everything else is the web app. In production
 * nginx plays this part (see DEPLOYMENT.md). Anyone who can reach the port can send anything, so
 * no request may take it down: bad request targets get a 400, a failure while handling one
 * request ends that request only.
 */
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { pipeline } from 'node:stream';
import { promisify } from 'node:util';
import zlib from 'node:zlib';

/** The production proxy's header list, read rather than copied so the two cannot drift. */
const SECURITY_HEADERS_FILE = path.join(import.meta.dirname, '..', 'web', 'nginx', 'security-headers.conf');

const brotli = promisify(zlib.brotliCompress);
const gzip = promisify(zlib.gzip);

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.woff2': 'font/woff2',
};

const LANDING = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>PACS</title>
<meta name="viewport" content="width=device-width,initial-scale=1">
<style>body{font:16px system-ui,sans-serif;background:#0f1418;color:#d8e0e6;max-width:40rem;margin:4rem auto;padding:0 1rem}a{color:#7cc4ff}</style>
</head><body><h1>PACS</h1><p>The API is running. The web app has not been built yet
(<code>web/dist</code> is missing).</p><p>API documentation and a login form: <a href="/api/docs/">/api/docs</a>.
Health: <a href="/health/ready">/health/ready</a>.</p></body></html>`;

/** Text types worth compressing (images, fonts and wasm other than SVG are compressed already or small). */
const COMPRESSIBLE = new Set(['.html', '.js', '.css', '.json', '.webmanifest', '.svg', '.wasm']);

/**
 * Compressed copies of static files, made once per file version (path + mtime + size): the web
 * root holds a few dozen files, so memory stays small and each request costs a lookup. Brotli
 * when the browser accepts it, else gzip, like nginx's `gzip on` in production.
 */
const compressedCache = new Map();
function compressedBody(file, stat, encoding) {
  const key = `${encoding}:${file}:${stat.mtimeMs}:${stat.size}`;
  let body = compressedCache.get(key);
  if (!body) {
    // Compressed off the event loop (zlib's thread pool): the viewer chunk is several MB.
    body = readFile(file).then((raw) =>
      encoding === 'br'
        ? brotli(raw, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 9, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: raw.length } })
        : gzip(raw, { level: 9 }),
    );
    body.catch(() => compressedCache.delete(key));
    if (compressedCache.size > 500) compressedCache.clear();
    compressedCache.set(key, body);
  }
  return body;
}

function pickEncoding(acceptEncoding) {
  const accepted = String(acceptEncoding ?? '')
    .split(',')
    .map((part) => part.trim().split(';'))
    .filter(([, q]) => !q || !/^q=0(\.0*)?$/.test(q.trim()))
    .map(([name]) => name.trim().toLowerCase());
  if (accepted.includes('br')) return 'br';
  if (accepted.includes('gzip')) return 'gzip';
  return null;
}

/**
 * The headers nginx adds to static answers (`add_header Name "value" always;` lines), for plain
 * http: without HSTS and `upgrade-insecure-requests`, which would lock a browser out of an http
 * origin. A line it cannot read is an error, so a new header is never silently left out.
 */
export function readSecurityHeaders(file = SECURITY_HEADERS_FILE) {
  const headers = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!/^\s*add_header\b/.test(line)) continue;
    const match = /^\s*add_header\s+([A-Za-z0-9-]+)\s+(?:"([^"]*)"|([^\s";]+))(?:\s+always)?\s*;\s*(#.*)?$/.exec(line);
    if (!match) throw new Error(`${file}: cannot read "${line.trim()}"`);
    const name = match[1].toLowerCase();
    const value = match[2] ?? match[3];
    if (name === 'strict-transport-security') continue;
    headers[name] =
      name === 'content-security-policy'
        ? value
            .split(';')
            .map((directive) => directive.trim())
            .filter((directive) => directive && directive !== 'upgrade-insecure-requests')
            .join('; ')
        : value;
  }
  if (Object.keys(headers).length === 0) throw new Error(`${file}: no add_header lines`);
  return headers;
}

/** Thrown for a request the gateway refuses; `code` is stable, `message` says why. */
class Refusal extends Error {
  constructor(statusCode, code, message) {
    super(message);
    this.statusCode = statusCode;
    this.code = code;
  }
}

const STATUS_TEXT = {
  400: 'Bad Request',
  404: 'Not Found',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
};

/**
 * The decoded path of an origin-form request target (`/path?query`). Absolute-form and `*`
 * targets, malformed or overlong percent-encodings, NUL, backslashes and dot segments (also
 * encoded, like `..%2f`) are refused before routing, for upstreams and static files alike.
 */
function decodedPath(url) {
  if (!url.startsWith('/')) throw new Refusal(400, 'BAD_REQUEST_TARGET', 'the request target must be a path');
  const query = url.indexOf('?');
  let pathname;
  try {
    // decodeURIComponent rejects invalid and overlong UTF-8 (%C0%AE) with a URIError.
    pathname = decodeURIComponent(query < 0 ? url : url.slice(0, query));
  } catch {
    throw new Refusal(400, 'BAD_PERCENT_ENCODING', 'the path has a malformed percent-encoding');
  }
  if (pathname.includes('\0')) throw new Refusal(400, 'BAD_PATH', 'the path contains NUL');
  if (pathname.includes('\\')) throw new Refusal(400, 'BAD_PATH', 'the path contains a backslash');
  if (pathname.split('/').some((segment) => segment === '..' || segment === '.')) {
    throw new Refusal(400, 'BAD_PATH', 'the path contains a dot segment');
  }
  return pathname;
}

/**
 * A prefix may have several instances of a service: requests and WebSocket upgrades take them in
 * turn (round robin). Any instance can serve any request: the API's instances share the database
 * and Redis, the sync-server's share documents through Redis.
 */
const turns = new WeakMap();
function pickUpstream(pathname, upstreams) {
  for (const [prefix, target] of upstreams) {
    if (!(pathname === prefix || pathname.startsWith(`${prefix}/`))) continue;
    if (!Array.isArray(target)) return target;
    const turn = turns.get(target) ?? 0;
    turns.set(target, turn + 1);
    return target[turn % target.length];
  }
  return null;
}

function errorBody(statusCode, code, message) {
  return JSON.stringify({ statusCode, error: STATUS_TEXT[statusCode] ?? 'Error', code, message });
}

/** The gateway's own error answer; if the answer has already begun, the connection is cut. */
function sendError(response, securityHeaders, statusCode, code, message) {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  const body = errorBody(statusCode, code, message);
  response.writeHead(statusCode, {
    ...securityHeaders,
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(body),
  });
  response.end(body);
}

/** An error answer written straight to a socket (client errors and refused upgrades have no response object). */
function endSocketWithError(socket, securityHeaders, statusCode, code, message) {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = errorBody(statusCode, code, message);
  const headers = {
    ...securityHeaders,
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(body),
    connection: 'close',
  };
  const lines = [
    `HTTP/1.1 ${statusCode} ${STATUS_TEXT[statusCode] ?? 'Error'}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
}

/**
 * What the log may say about a failure: the error's kind and, unless it is a system error (whose
 * message names a file derived from the URL), its message. Never the URL, which can carry patient
 * names and IDs in paths and queries.
 */
function describeFailure(error) {
  if (!(error instanceof Error)) return 'non-error thrown';
  if ('syscall' in error) return `${error.code ?? error.name} in ${error.syscall}`;
  return `${error.name}: ${error.message}`;
}

function serveStatic(request, response, webRoot, pathname, securityHeaders) {
  const root = path.resolve(webRoot);
  const candidate = path.resolve(root, `.${pathname}`);
  // With the separator: a sibling such as `<root>-old` shares the prefix but is outside.
  const inside = candidate.startsWith(`${root}${path.sep}`);
  const file = inside && existsSync(candidate) && statSync(candidate).isFile() ? candidate : path.join(root, 'index.html');
  if (!existsSync(file)) {
    response.writeHead(200, { ...securityHeaders, 'content-type': TYPES['.html'], 'cache-control': 'no-store' });
    response.end(LANDING);
    return;
  }
  const ext = path.extname(file);
  // Hashed assets never change; the shell and the service worker must always be revalidated.
  const immutable = path.relative(root, file).startsWith(`assets${path.sep}`);
  const headers = {
    ...securityHeaders,
    'content-type': TYPES[ext] ?? 'application/octet-stream',
    'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
  };
  const stat = statSync(file);
  const encoding = COMPRESSIBLE.has(ext) && stat.size > 1024 ? pickEncoding(request.headers['accept-encoding']) : null;
  if (COMPRESSIBLE.has(ext)) headers.vary = 'Accept-Encoding';
  if (encoding) {
    compressedBody(file, stat, encoding)
      .then((body) => {
        response.writeHead(200, { ...headers, 'content-encoding': encoding, 'content-length': body.length });
        response.end(request.method === 'HEAD' ? undefined : body);
      })
      .catch(() => sendError(response, securityHeaders, 500, 'STATIC_READ_FAILED', 'could not read file'));
    return;
  }
  response.writeHead(200, { ...headers, 'content-length': stat.size });
  if (request.method === 'HEAD') return response.end();
  pipeline(createReadStream(file), response, () => undefined);
}

/** Headers that describe one connection, not the message: they end at each hop (RFC 9110 7.6.1). */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade'];
/** Still passed on when a Connection header names them: they frame or route the message. */
const NEVER_DROPPED = new Set(['host', 'content-length', 'transfer-encoding']);

/**
 * A message's headers without the hop-by-hop ones and those its Connection header names. Above
 * all the API's `Keep-Alive: timeout=72` must not reach the client: the gateway closes idle
 * connections sooner, and a client trusting the longer hint sends a request on a connection that
 * is being closed, which is then lost unanswered. Node adds the gateway's own hint instead.
 * `keep` names hop-by-hop headers that still frame this message (a request body's
 * Transfer-Encoding).
 */
function endToEndHeaders(headers, keep = []) {
  const dropped = new Set(HOP_BY_HOP.filter((name) => !keep.includes(name)));
  for (const token of String(headers.connection ?? '').split(',')) {
    const name = token.trim().toLowerCase();
    if (name && !NEVER_DROPPED.has(name)) dropped.add(name);
  }
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !dropped.has(name)));
}

/** Proxies one HTTP request; X-Forwarded-For is the peer's address, replacing any the client sent. */
function proxyRequest(request, response, target, securityHeaders) {
  const forwarded = {
    ...endToEndHeaders(request.headers, ['transfer-encoding']),
    'x-forwarded-for': request.socket.remoteAddress ?? '',
    'x-forwarded-proto': 'http',
  };
  const upstream = http.request(
    { host: target.host, port: target.port, method: request.method, path: request.url, headers: forwarded },
    (reply) => {
      try {
        response.writeHead(reply.statusCode ?? 502, endToEndHeaders(reply.headers));
      } catch {
        // A header Node will not pass on: this answer fails, not the gateway.
        reply.destroy();
        return sendError(response, securityHeaders, 502, 'BAD_UPSTREAM_ANSWER', 'the service sent an answer that cannot be passed on');
      }
      pipeline(reply, response, () => undefined);
    },
  );
  upstream.on('error', () => sendError(response, securityHeaders, 502, 'UPSTREAM_UNAVAILABLE', 'service unavailable'));
  // A client that goes away stops the upstream request (long DICOMweb streams, large uploads).
  response.on('close', () => {
    if (!response.writableFinished) upstream.destroy();
  });
  request.on('error', () => upstream.destroy());
  request.pipe(upstream);
}

/**
 * Passes a WebSocket upgrade on as raw bytes. The client's own X-Forwarded-For/-Proto are dropped
 * and replaced, as on the HTTP path, so the sync-server sees the real peer address.
 */
function proxyUpgrade(request, socket, head, target, securityHeaders) {
  // Without TCP_NODELAY a small sync message after another waits for the delayed ACK (~40 ms):
  // keystrokes are small messages, and nginx's proxy sets tcp_nodelay too.
  const upstream = net.connect({ port: target.port, host: target.host, noDelay: true });
  let connected = false;
  upstream.on('connect', () => {
    connected = true;
    const lines = [`${request.method} ${request.url} HTTP/1.1`];
    for (let i = 0; i < request.rawHeaders.length; i += 2) {
      const name = request.rawHeaders[i].toLowerCase();
      if (name === 'x-forwarded-for' || name === 'x-forwarded-proto') continue;
      lines.push(`${request.rawHeaders[i]}: ${request.rawHeaders[i + 1]}`);
    }
    lines.push(`X-Forwarded-For: ${request.socket.remoteAddress ?? ''}`, 'X-Forwarded-Proto: http');
    upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (head.length > 0) upstream.write(head);
    upstream.pipe(socket).pipe(upstream);
  });
  upstream.on('error', () => {
    if (connected) socket.destroy();
    else endSocketWithError(socket, securityHeaders, 502, 'UPSTREAM_UNAVAILABLE', 'service unavailable');
  });
  socket.on('close', () => upstream.destroy());
  socket.on('error', () => upstream.destroy());
}

/**
 * The one origin's routes: the API's prefixes and the sync-server's (each one instance or several).
 * @param {{host: string, port: number} | {host: string, port: number}[]} api
 * @param {{host: string, port: number} | {host: string, port: number}[]} sync
 */
export function serviceUpstreams(api, sync) {
  return [
    ['/api', api],
    ['/health', api],
    ['/dicom-web', api],
    ['/fhir', api],
    ['/sync', sync],
  ];
}

/**
 * `webRoot` may be a function, read per request (the e2e suite switches to a newer build to see
 * the app's "new version" prompt). `log` receives one line per failure, without URLs.
 * @param {{ port: number, host: string, webRoot: string | (() => string), upstreams: [string, {host: string, port: number} | {host: string, port: number}[]][], log?: (line: string) => void, securityHeadersFile?: string }} options
 */
export function startGateway({ port, host, webRoot, upstreams, log = defaultLog, securityHeadersFile = SECURITY_HEADERS_FILE }) {
  const rootOf = typeof webRoot === 'function' ? webRoot : () => webRoot;
  const securityHeaders = readSecurityHeaders(securityHeadersFile);

  const server = http.createServer((request, response) => {
    try {
      const pathname = decodedPath(request.url ?? '');
      const target = pickUpstream(pathname, upstreams);
      if (target) proxyRequest(request, response, target, securityHeaders);
      else serveStatic(request, response, rootOf(), pathname, securityHeaders);
    } catch (error) {
      if (error instanceof Refusal) return sendError(response, securityHeaders, error.statusCode, error.code, error.message);
      log(`${request.method} failed: ${describeFailure(error)}`);
      sendError(response, securityHeaders, 500, 'GATEWAY_ERROR', 'the gateway could not handle this request');
    }
  });

  server.on('upgrade', (request, socket, head) => {
    socket.on('error', () => socket.destroy());
    try {
      const pathname = decodedPath(request.url ?? '');
      const target = pickUpstream(pathname, upstreams);
      if (!target) throw new Refusal(404, 'NO_UPGRADE_HERE', 'no WebSocket service at this path');
      proxyUpgrade(request, socket, head, target, securityHeaders);
    } catch (error) {
      if (error instanceof Refusal) return endSocketWithError(socket, securityHeaders, error.statusCode, error.code, error.message);
      log(`upgrade failed: ${describeFailure(error)}`);
      endSocketWithError(socket, securityHeaders, 500, 'GATEWAY_ERROR', 'the gateway could not handle this request');
    }
  });

  // CONNECT would make this a forward proxy: refused, with an answer rather than a dropped socket.
  server.on('connect', (_request, socket) => {
    socket.on('error', () => socket.destroy());
    endSocketWithError(socket, securityHeaders, 400, 'BAD_REQUEST_TARGET', 'the request target must be a path');
  });

  // Unparseable requests (bad request line, oversize headers, TLS on the plain port) end with an
  // answer on that connection only.
  server.on('clientError', (error, socket) => {
    if (error.code === 'ECONNRESET' || error.code === 'EPIPE') return socket.destroy();
    if (error.code === 'HPE_HEADER_OVERFLOW')
      return endSocketWithError(socket, securityHeaders, 431, 'HEADERS_TOO_LARGE', 'request headers too large');
    if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT')
      return endSocketWithError(socket, securityHeaders, 408, 'REQUEST_TIMEOUT', 'request timed out');
    endSocketWithError(socket, securityHeaders, 400, 'MALFORMED_REQUEST', 'malformed HTTP request');
  });

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

function defaultLog(line) {
  process.stderr.write(`[pacs] gateway: ${line}\n`);
}
