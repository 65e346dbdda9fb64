import { type Static, Type } from 'typebox';
import { OfflineAuditAlarm } from './offline-audit';

export const HealthCheck = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded'), Type.Literal('down')]),
  latencyMs: Type.Optional(Type.Number()),
  message: Type.Optional(Type.String()),
});

/** `ok` when every check passes, `degraded` when a non-essential one fails, `down` otherwise. */
export const HealthResponse = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded'), Type.Literal('down')]),
  checks: Type.Record(Type.String(), HealthCheck),
});
export type HealthResponse = Static<typeof HealthResponse>;

/** Where ingestion stands: Orthanc's change cursor and the reconciler's last run. */
export const IngestionStatus = Type.Object({
  cursor: Type.Integer(),
  lastRunAt: Type.Union([Type.String(), Type.Null()]),
  lastSuccessAt: Type.Union([Type.String(), Type.Null()]),
  lastError: Type.Union([Type.String(), Type.Null()]),
  ingested: Type.Integer(),
  deleted: Type.Integer(),
});
export type IngestionStatus = Static<typeof IngestionStatus>;

/** The audit trail's export to the hospital's audit repository (ATNA). */
export const AuditExportStatus = Type.Object({
  target: Type.String(),
  connected: Type.Boolean(),
  exportedUpTo: Type.Integer(),
  /** Audit rows not yet handed to the repository: more than a few means it is down or slow. */
  pending: Type.Integer(),
  lastError: Type.Union([Type.String(), Type.Null()]),
  lastErrorAt: Type.Union([Type.String(), Type.Null()]),
});
export type AuditExportStatus = Static<typeof AuditExportStatus>;

/**
 * GET /api/system/status (admins): every readiness check, ingestion when this API runs it, the audit
 * export when configured, and the alarms an admin must acknowledge (never patient data).
 */
export const SystemStatus = Type.Object({
  health: HealthResponse,
  ingestion: Type.Union([IngestionStatus, Type.Null()]),
  auditExport: Type.Union([AuditExportStatus, Type.Null()]),
  alarms: Type.Array(OfflineAuditAlarm),
});
export type SystemStatus = Static<typeof SystemStatus>;
