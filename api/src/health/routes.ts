/**
 * Liveness (the process answers) and readiness (its dependencies answer). Later capabilities add
 * their checks (Orthanc, sync-server) with `addReadinessCheck`.
 */

import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { HealthResponse } from '@pacs/shared';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Type } from 'typebox';

export type CheckResult = { status: 'ok' | 'degraded' | 'down'; message?: string };
export interface ReadinessCheck {
  name: string;
  /** An essential check that fails makes the API not ready (503); others only degrade it. */
  essential: boolean;
  run(): Promise<CheckResult>;
}

declare module 'fastify' {
  interface FastifyInstance {
    readinessChecks: ReadinessCheck[];
  }
}

const CHECK_TIMEOUT_MS = 2000;

async function timed(check: ReadinessCheck) {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const result = await Promise.race([
      check.run(),
      new Promise<CheckResult>((resolve) => {
        timer = setTimeout(() => resolve({ status: 'down', message: 'timed out' }), CHECK_TIMEOUT_MS);
      }),
    ]);
    return { ...result, latencyMs: Math.round(performance.now() - started) };
  } catch (error) {
    return { status: 'down' as const, message: (error as Error).name, latencyMs: Math.round(performance.now() - started) };
  } finally {
    clearTimeout(timer);
  }
}

export async function checkReadiness(checks: ReadinessCheck[]): Promise<HealthResponse> {
  const results = await Promise.all(checks.map(async (check) => [check, await timed(check)] as const));
  const down = results.some(([check, r]) => check.essential && r.status === 'down');
  const degraded = results.some(([, r]) => r.status !== 'ok');
  const status = down ? 'down' : degraded ? 'degraded' : 'ok';
  return { status, checks: Object.fromEntries(results.map(([c, r]) => [c.name, r])) };
}

async function healthRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.decorate('readinessChecks', [
    {
      name: 'database',
      essential: true,
      run: async () => {
        await app.db.sequelize.query('SELECT 1');
        return { status: 'ok' };
      },
    },
  ]);

  app.get(
    '/health/live',
    {
      config: { access: 'public' },
      schema: { tags: ['health'], response: { 200: Type.Object({ status: Type.Literal('ok') }) } },
      logLevel: 'warn',
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/health/ready',
    {
      config: { access: 'public' },
      schema: { tags: ['health'], response: { 200: HealthResponse, 503: HealthResponse } },
      logLevel: 'warn',
    },
    async (_request, reply) => {
      const health = await checkReadiness(app.readinessChecks);
      return reply.code(health.status === 'down' ? 503 : 200).send(health);
    },
  );
}

/** Not encapsulated: other capabilities add their readiness checks to the root instance. */
export default fp(healthRoutes, { name: 'health', dependencies: ['database'] });
