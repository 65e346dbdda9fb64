/**
 * buildApp(config): plugins in a visible order — external (security, docs, metrics), then the
 * application's own (database, access control, audit trail, errors), then the capability routes.
 */
import { randomUUID } from 'node:crypto';
import { addressPredicate } from '@pacs/server-kit/address-list';
import Fastify, { type FastifyInstance, type FastifyServerOptions, LogController } from 'fastify';
import offlineAuditRoutes from './audit/offline/routes';
import auditRoutes from './audit/routes';
import deviceRoutes from './auth/devices/routes';
import mfaRoutes from './auth/mfa/routes';
import authRoutes from './auth/routes';
import ssoRoutes from './auth/sso/routes';
import type { Config } from './config';
import criticalResultRoutes from './critical-results/routes';
import './fastify-types';
import dicomwebRoutes from './dicomweb/routes';
import fhirRoutes from './fhir/routes';
import healthRoutes from './health/routes';
import systemRoutes from './health/system-routes';
import ingestRoutes from './ingest/routes';
import macroRoutes from './macros/routes';
import measurementRoutes from './measurements/routes';
import reconciliationRoutes from './orders/reconciliation-routes';
import accessControl from './plugins/access-control';
import auditExport from './plugins/audit-export';
import auditTrail from './plugins/audit-trail';
import clusterBus from './plugins/cluster-bus';
import criticalResults from './plugins/critical-results';
import database from './plugins/database';
import devices from './plugins/devices';
import errorHandler from './plugins/error-handler';
import hl7Interface from './plugins/hl7-interface';
import ingestion from './plugins/ingestion';
import metrics from './plugins/metrics';
import openapi from './plugins/openapi';
import redis from './plugins/redis';
import reportSigning from './plugins/report-signing';
import restrictedAccess from './plugins/restricted-access';
import resultsOut from './plugins/results-out';
import secondFactor from './plugins/second-factor';
import security from './plugins/security';
import singleSignOn from './plugins/single-sign-on';
import referrerRoutes from './referrer/routes';
import offlineStartRoutes from './reports/offline-start-routes';
import reportRoutes from './reports/routes';
import templateRoutes from './reports/template-routes';
import reportVerificationRoutes from './reports/verification-routes';
import reportVersionRoutes from './reports/version-routes';
import restrictedAccessRoutes from './restricted-access/routes';
import resultRoutes from './results/routes';
import teachingRoutes from './teaching/routes';
import userRoutes from './users/routes';
import { validatorCompiler } from './validation';
import worklistRoutes from './worklist/routes';

const REQUEST_ID = /^[A-Za-z0-9._-]{8,64}$/;

export interface BuildOptions {
  /** Where logs go (tests capture them to prove no PHI or secret is written). */
  logStream?: { write(line: string): void };
  /** Tests of the cluster bus make the principal cache's TTL long, so only the bus can evict. */
  principalCacheTtlMs?: number;
}

export function loggerOptions(config: Config, logStream?: BuildOptions['logStream']): FastifyServerOptions['logger'] {
  if (config.logLevel === 'silent' && !logStream) return false;
  return {
    level: logStream && config.logLevel === 'silent' ? 'info' : config.logLevel,
    ...(logStream ? { stream: logStream } : {}),
    // Never log credentials or tokens; request URLs are logged without their query string,
    // which may carry search terms such as patient names.
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'], censor: '[redacted]' },
    serializers: {
      req: (req: { method: string; url: string; id: string }) => ({ id: req.id, method: req.method, path: req.url.split('?')[0] }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      err: (err: Error & { code?: string }) => ({ type: err.name, code: err.code, message: err.message, stack: err.stack ?? '' }),
    },
  };
}

export async function buildApp(config: Config, options: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: loggerOptions(config, options.logStream),
    bodyLimit: config.bodyLimit,
    logController: new LogController({ disableRequestLogging: true }),
    // The same address-list reader as the sync-server's, so one value means the same to both.
    trustProxy: config.trustProxy === false ? false : addressPredicate(config.trustProxy),
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
  });
  app.decorate('config', config);
  // One log line per request instead of Fastify's two: half the logging cost on the hot path.
  app.addHook('onResponse', async (request, reply) => {
    request.log.info(
      {
        method: request.method,
        path: request.url.split('?')[0],
        statusCode: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
      },
      'request',
    );
  });
  app.setValidatorCompiler(validatorCompiler);
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  // External
  await app.register(redis);
  await app.register(security);
  await app.register(openapi);
  await app.register(metrics);
  // Application
  await app.register(database);
  await app.register(accessControl, { principalCacheTtlMs: options.principalCacheTtlMs });
  await app.register(clusterBus);
  await app.register(auditTrail);
  await app.register(auditExport);
  await app.register(errorHandler);
  await app.register(secondFactor);
  await app.register(singleSignOn);
  await app.register(devices);
  await app.register(restrictedAccess);
  await app.register(reportSigning);
  await app.register(healthRoutes);
  await app.register(ingestion);
  await app.register(hl7Interface);
  await app.register(resultsOut);
  await app.register(criticalResults);
  // Capabilities
  await app.register(authRoutes);
  await app.register(mfaRoutes);
  await app.register(ssoRoutes);
  await app.register(deviceRoutes);
  await app.register(userRoutes);
  await app.register(auditRoutes);
  await app.register(offlineAuditRoutes);
  await app.register(worklistRoutes);
  await app.register(restrictedAccessRoutes);
  await app.register(ingestRoutes);
  await app.register(reconciliationRoutes);
  await app.register(dicomwebRoutes);
  await app.register(fhirRoutes);
  await app.register(systemRoutes);
  await app.register(templateRoutes);
  await app.register(macroRoutes);
  await app.register(reportRoutes);
  await app.register(offlineStartRoutes);
  await app.register(reportVerificationRoutes);
  await app.register(reportVersionRoutes);
  await app.register(resultRoutes);
  await app.register(criticalResultRoutes);
  await app.register(measurementRoutes);
  await app.register(referrerRoutes);
  await app.register(teachingRoutes);

  await app.ready();
  return app;
}
