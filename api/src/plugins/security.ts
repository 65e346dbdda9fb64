import cookie from '@fastify/cookie';
import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import fp from 'fastify-plugin';
import helmet from 'helmet';
import { rejectNulCharacters } from '../validation';

/** Security headers, CORS allow-list, cookies, the rate limiter (used per route) and the refusal of NUL in any input. */
export default fp(
  async (app) => {
    const { production, corsOrigins } = app.config;
    // Built once: @fastify/helmet builds helmet's middleware again for every request (parsing the
    // CSP directives each time), 5-9 % of a small request's CPU.
    const securityHeaders = helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'self'"],
          // The viewer's JPEG 2000, JPEG-LS and JPEG decoders are WebAssembly: without this a
          // browser refuses to compile them and compressed images never render.
          scriptSrc: ["'self'", "'wasm-unsafe-eval'"],
          styleSrc: ["'self'", "'unsafe-inline'"],
          imgSrc: ["'self'", 'data:', 'blob:'],
          connectSrc: ["'self'"],
          workerSrc: ["'self'", 'blob:'],
          fontSrc: ["'self'", 'data:'],
          objectSrc: ["'none'"],
          frameAncestors: ["'none'"],
          baseUri: ["'self'"],
          formAction: ["'self'"],
          // Plain-http development must not be upgraded; TLS terminates at the proxy in production.
          ...(production ? { upgradeInsecureRequests: [] } : {}),
        },
      },
      hsts: production ? { maxAge: 31_536_000, includeSubDomains: true } : false,
      crossOriginEmbedderPolicy: false,
    });
    app.addHook('onRequest', (request, reply, done) =>
      securityHeaders(request.raw, reply.raw, (error) => done(error as Error | undefined)),
    );
    await app.register(cors, {
      credentials: true,
      origin: (origin, callback) => {
        // No Origin header: same-origin or non-browser client. Otherwise only the allow-list.
        callback(null, origin === undefined || corsOrigins.includes(origin));
      },
    });
    await app.register(cookie);
    app.addHook('preValidation', rejectNulCharacters);
    // With several API instances the login limit is counted in their shared Redis; if Redis is
    // away the limit is skipped rather than refusing logins (account lock-out still applies).
    await app.register(rateLimit, {
      global: false,
      ...(app.redis ? { redis: app.redis, nameSpace: 'pacs-api-rate-', skipOnError: true } : {}),
    });
  },
  { name: 'security', dependencies: ['redis'] },
);
