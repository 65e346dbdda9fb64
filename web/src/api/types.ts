/**
 * Types the web app uses. Most come from @pacs/shared (type-only imports, erased at build).
 * Local additions are marked LOCAL: candidates for @pacs/shared (listed in the report for the lead).
 */
export type {
  AuditEntry,
  AuditPage,
  AuditQuery,
  ErrorResponse,
  HealthResponse,
  SessionResponse,
  StudyChanges,
  StudyConflict,
  StudyDetail,
  StudyPatch,
  StudyTombstone,
  Template,
  TemplateCreate,
  TemplatePatch,
  TemplateSection,
  Turnaround,
  User,
  UserCreateRequest,
  UserPage,
  UserUpdateRequest,
  WorklistStudy,
} from '@pacs/shared';

/** LOCAL: the body of GET /api/system/status (the API declares it inline in health/system-routes.ts). */
export interface SystemStatus {
  health: {
    status: 'ok' | 'degraded' | 'down';
    checks: Record<string, { status: 'ok' | 'degraded' | 'down'; latencyMs?: number; message?: string }>;
  };
  ingestion: {
    cursor: number;
    lastRunAt: string | null;
    lastSuccessAt: string | null;
    lastError: string | null;
    ingested: number;
    deleted: number;
  } | null;
}
