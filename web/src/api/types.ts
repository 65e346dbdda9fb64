/**
 * Types the web app uses, all from @pacs/shared (type-only imports, erased at build): what the
 * API validates and serialises is what the web reads.
 */
export type {
  AuditEntry,
  AuditPage,
  AuditQuery,
  ErrorResponse,
  HealthResponse,
  OrderMatchDecision,
  OutboxEntry,
  OutboxPage,
  PendingOrder,
  SessionResponse,
  StudyChanges,
  StudyConflict,
  StudyDetail,
  StudyPatch,
  StudyTombstone,
  SystemStatus,
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
