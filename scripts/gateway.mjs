/**
 * The one origin for development and `npm start`: `/api`, `/health` and `/dicom-web` go to the
 * API, `/sync` (WebSocket) to the sync-server, everything else is the web app. In production
 * nginx plays this part (see DEPLOYMENT.md).
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';

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

function pickUpstream(url, upstreams) {
  const pathname = url.split('?')[0];
  for (const [prefix, target] of upstreams) {
    if (pathname === prefix || pathname.startsWith(`${prefix}/`)) return target;
  }
  return null;
}

function serveStatic(request, response, webRoot) {
  const pathname = decodeURIComponent(request.url.split('?')[0]);
  const candidate = path.normalize(path.join(webRoot, pathname));
  const inside = candidate.startsWith(webRoot);
  const file = inside && existsSync(candidate) && statSync(candidate).isFile() ? candidate : path.join(webRoot, 'index.html');
  if (!existsSync(file)) {
    response.writeHead(200, { 'content-type': TYPES['.html'], 'cache-control': 'no-store' });
    response.end(LANDING);
    return;
  }
  const ext = path.extname(file);
  // Hashed assets never change; the shell and the service worker must always be revalidated.
  const immutable = file.includes(`${path.sep}assets${path.sep}`);
  const headers = {
    'content-type': TYPES[ext] ?? 'application/octet-stream',
    'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
  };
  const stat = statSync(file);
  const encoding = COMPRESSIBLE.has(ext) && stat.size > 1024 ? pickEncoding(request.headers['accept-encoding']) : null;
  if (COMPRESSIBLE.has(ext)) headers.vary = 'Accept-Encoding';
  if (encoding) {
    compressedBody(file, stat, encoding).then(
      (body) => {
        response.writeHead(200, { ...headers, 'content-encoding': encoding, 'content-length': body.length });
        response.end(request.method === 'HEAD' ? undefined : body);
      },
      () => {
        response.writeHead(500, { 'content-type': 'text/plain' });
        response.end('could not read file');
      },
    );
    return;
  }
  response.writeHead(200, { ...headers, 'content-length': stat.size });
  if (request.method === 'HEAD') return response.end();
  createReadStream(file).pipe(response);
}

/**
 * `webRoot` may be a function, read per request (the e2e suite switches to a newer build to see
 * the app's "new version" prompt).
 * @param {{ port: number, host: string, webRoot: string | (() => string), upstreams: [string, {host: string, port: number}][] }} options
 */
export function startGateway({ port, host, webRoot, upstreams }) {
  const rootOf = typeof webRoot === 'function' ? webRoot : () => webRoot;
  const server = http.createServer((request, response) => {
    const target = pickUpstream(request.url ?? '/', upstreams);
    if (!target) return serveStatic(request, response, rootOf());
    const forwarded = { ...request.headers, 'x-forwarded-for': request.socket.remoteAddress ?? '', 'x-forwarded-proto': 'http' };
    const upstream = http.request(
      { host: target.host, port: target.port, method: request.method, path: request.url, headers: forwarded },
      (reply) => {
        response.writeHead(reply.statusCode ?? 502, reply.headers);
        reply.pipe(response);
      },
    );
    upstream.on('error', () => {
      if (!response.headersSent) response.writeHead(502, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ statusCode: 502, error: 'Bad Gateway', message: 'service unavailable' }));
    });
    request.pipe(upstream);
  });
  server.on('upgrade', (request, socket, head) => {
    const target = pickUpstream(request.url ?? '/', upstreams);
    if (!target) return socket.destroy();
    const upstream = net.connect(target.port, target.host, () => {
      const lines = [`${request.method} ${request.url} HTTP/1.1`];
      for (let i = 0; i < request.rawHeaders.length; i += 2) lines.push(`${request.rawHeaders[i]}: ${request.rawHeaders[i + 1]}`);
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length > 0) upstream.write(head);
      upstream.pipe(socket).pipe(upstream);
    });
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
