/**
 * Reporting workflow over HTTP: one primary report per study (plus addenda), its lifecycle from
 * shared/src/workflow.ts (`reportTransition`, never a second matrix), document sessions for the
 * sync-server, late edits and the PDF export. The handlers read and check the request, call the
 * domain (report-store.ts, finalize.ts, signing.ts, templates.ts, pdf-export.ts) and answer; the
 * finalize saga and its steps are described in finalize.ts.
 */
import { randomUUID } from 'node:crypto';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  AddendumCreate,
  documentModeFor,
  ErrorResponse,
  IdParams,
  isFinalizing,
  isReportLocked,
  isResidentsWork,
  ReportConflict,
  ReportCreate,
  type ReportEvent,
  ReportFinalize,
  ReportLateEdits,
  ReportReturn,
  Report as ReportSchema,
  ReportSession,
  ReportSubmit,
  reportDocumentName,
  reportTransition,
} from '@pacs/shared';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { UniqueConstraintError } from 'sequelize';
import { auditInTransaction } from '../audit/recorder';
import type { ReportAttributes, StudyAttributes } from '../db/models';
import { badRequest, conflict, forbidden, type HttpError, notFound } from '../http-errors';
import { b64, seedUpdate } from './content';
import { signDocumentToken } from './document-token';
import { claimTtlFor, type FinalizeDeps, type FinalizeRefusal, finalizeReport } from './finalize';
import { defaultFontDir } from './pdf';
import { PdfExport } from './pdf-export';
import { presentAddendum, presentReport } from './present';
import { createReportStore } from './report-store';
import { verifyIntegrity } from './signing';
import { SyncClient, syncFailure } from './sync-client';
import { chooseSections } from './templates';

/** The HTTP answer to a finalize that did not happen. */
function finalizeRefusal(refusal: FinalizeRefusal): HttpError {
  switch (refusal.outcome) {
    case 'not-found':
      return notFound(refusal.message);
    case 'transition-refused':
      return refusal.reason === 'not-allowed-for-role'
        ? forbidden(refusal.message, 'TRANSITION_FORBIDDEN')
        : conflict(refusal.message, 'TRANSITION_NOT_ALLOWED');
    case 'finalize-in-progress':
      return conflict(refusal.message, 'FINALIZE_IN_PROGRESS');
    case 'stale':
      return conflict(refusal.message, 'STALE_VERSION');
    case 'unseen-updates':
      // The sync-server's state vector lets the client fetch what it has not seen.
      return conflict(refusal.message, 'UNSEEN_UPDATES', refusal.stateVector ? { stateVector: refusal.stateVector } : {});
    case 'bad-state':
      return badRequest(refusal.message, 'BAD_STATE');
    case 'sync-failed':
      return syncFailure(refusal.cause);
  }
}

export default async function reportRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { models } = app.db;
  const store = createReportStore(app.db);
  const config = app.config;
  const sync = new SyncClient(config.syncUrl, config.syncServiceToken, config.syncTimeoutMs);
  const pdfExport = new PdfExport(
    {
      institutionName: config.institutionName,
      logoPath: config.institutionLogo,
      fontDir: config.pdfFontDir ?? defaultFontDir(),
      fallbackFonts: config.pdfFallbackFonts,
    },
    store,
    sync,
  );
  const CLAIM_TTL_MS = claimTtlFor(config.syncTimeoutMs);
  const tags = ['reports'];
  if (!config.syncServiceToken) app.log.warn('PACS_SYNC_SERVICE_TOKEN not set: report creation, finalize and PDF of drafts answer 503');
  if (config.documentTokenSecretGenerated) {
    app.log.warn('PACS_DOCUMENT_TOKEN_SECRET not set: document tokens use a random key the sync-server cannot verify');
  }

  // ---------------------------------------------------------------- helpers

  function subjectOf(request: FastifyRequest, report: Pick<ReportAttributes, 'id'>, study: StudyAttributes) {
    request.auditSubject = { objectType: 'Report', objectId: report.id, patientId: study.patientId, studyUid: study.studyInstanceUid };
  }

  const principalOf = (request: FastifyRequest) => request.principal!;

  function check(from: ReportAttributes['status'], event: ReportEvent, request: FastifyRequest) {
    const step = reportTransition(from, event, principalOf(request).role);
    if (!step.ok) {
      if (step.reason === 'not-allowed-for-role') throw forbidden(step.message, 'TRANSITION_FORBIDDEN');
      throw conflict(step.message, 'TRANSITION_NOT_ALLOWED');
    }
    return step.to;
  }

  function refuseWhileFinalizing(row: ReportAttributes) {
    if (isFinalizing(row, CLAIM_TTL_MS)) throw conflict('the report is being finalized', 'FINALIZE_IN_PROGRESS');
  }

  function checkVersion(row: ReportAttributes, version: number | undefined) {
    if (version !== undefined && version !== row.version) throw conflict('the report changed since you loaded it', 'STALE_VERSION');
  }

  /** Verifies the signed hash; a mismatch is an alarm (audit outcome 12 + error log), never fixed. */
  async function integrityOf(request: FastifyRequest, row: ReportAttributes, study: StudyAttributes): Promise<boolean | null> {
    const verified = verifyIntegrity(row);
    if (verified === false) {
      request.log.error({ reportId: row.id }, 'report content hash mismatch: signed content was altered');
      await app.audit.record({
        eventId: 'SecurityAlert',
        action: 'R',
        outcome: 12,
        userId: request.principal?.userId ?? null,
        userRole: request.principal?.role ?? null,
        networkAddress: request.ip,
        requestId: request.id,
        objectType: 'Report',
        objectId: row.id,
        patientId: study.patientId,
        studyUid: study.studyInstanceUid,
        details: { reason: 'report content hash mismatch', route: request.routeOptions.url },
      });
    }
    return verified;
  }

  async function present(request: FastifyRequest, row: ReportAttributes, study: StudyAttributes) {
    const verified = await integrityOf(request, row, study);
    const addenda = row.parentReportId ? [] : await store.addendaOf(row.id);
    const presented = [];
    for (const a of addenda) presented.push(presentAddendum(a, await integrityOf(request, a, study)));
    return presentReport(row, verified, presented);
  }

  // ---------------------------------------------------------------- create / read

  const reportAudit = (action: 'C' | 'R' | 'U', phi = false) => ({
    eventId: 'PatientRecord' as const,
    action,
    objectType: 'Report',
    ...(phi ? { phi: true } : {}),
  });

  app.post(
    '/api/studies/:id/report',
    {
      config: { access: 'report:edit', audit: reportAudit('C') },
      schema: {
        tags,
        summary: "Create the study's report from a template (or return the existing one)",
        params: IdParams,
        body: ReportCreate,
        response: { 200: ReportSchema, 201: ReportSchema, 400: ErrorResponse, 404: ErrorResponse, 503: ErrorResponse },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const study = (await store.loadStudy(request.params.id)).get();
      request.auditSubject = { objectType: 'Report', patientId: study.patientId, studyUid: study.studyInstanceUid };
      const existing = await store.primaryReportOf(study.id);
      if (existing) {
        subjectOf(request, existing, study);
        return present(request, existing, study);
      }
      const { templateId, sections } = await chooseSections(models, study, request.body?.templateId);
      const id = randomUUID();
      // Seeded before the row exists: a report is never visible with an empty document. If the
      // insert then loses a race, the seeded document is never referenced (and stays unused).
      try {
        await sync.seed(reportDocumentName(id), b64(seedUpdate(sections)));
      } catch (error) {
        throw syncFailure(error);
      }
      try {
        const created = await store.transaction(async (transaction) => {
          const row = await store.createReport(
            { id, studyRef: study.id, primarySlot: study.id, status: 'draft', authorId: principal.userId, templateId },
            transaction,
          );
          const studyRow = await store.loadStudy(study.id, transaction);
          await store.followStudy(studyRow, 'start-reading', transaction);
          await auditInTransaction(request, transaction, {
            eventId: 'PatientRecord',
            action: 'C',
            objectType: 'Report',
            objectId: id,
            patientId: study.patientId,
            studyUid: study.studyInstanceUid,
            details: { templateId },
          });
          return row.get();
        });
        subjectOf(request, created, study);
        reply.code(201);
        return present(request, created, study);
      } catch (error) {
        if (!(error instanceof UniqueConstraintError)) throw error;
        const winner = await store.primaryReportOf(study.id);
        if (!winner) throw error;
        subjectOf(request, winner, study);
        return present(request, winner, study);
      }
    },
  );

  app.get(
    '/api/studies/:id/report',
    {
      config: { access: 'report:read', audit: reportAudit('R', true) },
      schema: {
        tags,
        summary: "The study's report with its addenda",
        params: IdParams,
        response: { 200: ReportSchema, 404: ErrorResponse },
      },
    },
    async (request) => {
      const study = (await store.loadStudy(request.params.id)).get();
      const row = await store.primaryReportOf(study.id);
      if (!row) throw notFound('the study has no report yet');
      subjectOf(request, row, study);
      return present(request, row, study);
    },
  );

  app.get(
    '/api/reports/:id',
    {
      config: { access: 'report:read', audit: reportAudit('R', true) },
      schema: {
        tags,
        summary: 'A report (signed content verified against its hash)',
        params: IdParams,
        response: { 200: ReportSchema, 404: ErrorResponse },
      },
    },
    async (request) => {
      const row = (await store.loadReport(request.params.id)).get();
      const study = (await store.loadStudy(row.studyRef)).get();
      subjectOf(request, row, study);
      return present(request, row, study);
    },
  );

  // ---------------------------------------------------------------- document session

  app.post(
    '/api/reports/:id/session',
    {
      config: { access: 'report:read', audit: { eventId: 'PatientRecord', action: 'R', objectType: 'ReportSession', phi: true } },
      schema: {
        tags,
        summary: 'A short-lived document token for the sync-server (rw or ro)',
        params: IdParams,
        response: { 200: ReportSession, 404: ErrorResponse },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const row = (await store.loadReport(request.params.id)).get();
      const study = (await store.loadStudy(row.studyRef)).get();
      subjectOf(request, row, study);
      const role = principal.role;
      const mode = documentModeFor(principal, {
        status: row.status,
        authorId: row.authorId,
        assigneeId: study.assigneeId,
        isAddendum: row.parentReportId !== null,
        finalizing: isFinalizing(row, CLAIM_TTL_MS),
      });
      if (mode === null) throw forbidden('no access to report documents', 'PERMISSION_DENIED');
      const document = reportDocumentName(row.id);
      const { token, expiresAt } = signDocumentToken(
        { userId: principal.userId, role, name: principal.name },
        document,
        mode,
        config.documentTokenSecret,
        config.documentTokenTtl,
      );
      request.auditSubject.details = { mode };
      return { token, document, mode, expiresAt: expiresAt.toISOString() };
    },
  );

  // ---------------------------------------------------------------- submit / return

  app.post(
    '/api/reports/:id/submit',
    {
      config: { access: 'report:submit', audit: reportAudit('U') },
      schema: {
        tags,
        summary: "Resident's preliminary signature: draft/returned → preliminary",
        params: IdParams,
        body: ReportSubmit,
        response: { 200: ReportSchema, 403: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const updated = await store.transaction(async (transaction) => {
        const report = await store.loadReport(request.params.id, transaction);
        const row = report.get();
        const study = await store.loadStudy(row.studyRef, transaction);
        subjectOf(request, row, study.get());
        if (row.parentReportId) throw conflict('addenda are finalized by an attending, not submitted', 'TRANSITION_NOT_ALLOWED');
        const to = check(row.status, 'submit', request);
        if (!isResidentsWork(principal.userId, { authorId: row.authorId, assigneeId: study.get('assigneeId') }))
          throw forbidden('the report is neither yours nor on a study assigned to you', 'NOT_ASSIGNED');
        refuseWhileFinalizing(row);
        checkVersion(row, request.body?.version);
        const now = new Date();
        await report.update(
          {
            status: to,
            preliminarySignerId: principal.userId,
            preliminarySignerName: principal.name,
            preliminarySignedAt: now,
            version: row.version + 1,
          },
          { transaction },
        );
        await store.followStudy(study, 'report-submitted', transaction);
        await auditInTransaction(request, transaction, {
          eventId: 'PatientRecord',
          action: 'U',
          objectType: 'Report',
          objectId: row.id,
          patientId: study.get('patientId'),
          studyUid: study.get('studyInstanceUid'),
          details: { transition: 'submit', from: row.status, to },
        });
        return { row: report.get(), study: study.get() };
      });
      // The report is the attending's now: the resident's open sockets stop editing at once (REVOKE-2).
      try {
        await sync.readOnly(reportDocumentName(updated.row.id), [...new Set([principal.userId, updated.row.authorId])]);
      } catch (error) {
        request.log.error({ err: error, reportId: updated.row.id }, 'document could not be made read-only after submit');
      }
      return present(request, updated.row, updated.study);
    },
  );

  app.post(
    '/api/reports/:id/return',
    {
      config: { access: 'report:return', audit: reportAudit('U') },
      schema: {
        tags,
        summary: 'Send a preliminary report back to the resident with a comment',
        params: IdParams,
        body: ReportReturn,
        response: { 200: ReportSchema, 403: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const updated = await store.transaction(async (transaction) => {
        const report = await store.loadReport(request.params.id, transaction);
        const row = report.get();
        const study = await store.loadStudy(row.studyRef, transaction);
        subjectOf(request, row, study.get());
        if (row.parentReportId) throw conflict('addenda cannot be returned', 'TRANSITION_NOT_ALLOWED');
        const to = check(row.status, 'return', request);
        refuseWhileFinalizing(row);
        checkVersion(row, request.body.version);
        await report.update(
          {
            status: to,
            returnComment: request.body.comment,
            returnedById: principal.userId,
            returnedAt: new Date(),
            version: row.version + 1,
          },
          { transaction },
        );
        await store.followStudy(study, 'report-returned', transaction);
        await auditInTransaction(request, transaction, {
          eventId: 'PatientRecord',
          action: 'U',
          objectType: 'Report',
          objectId: row.id,
          patientId: study.get('patientId'),
          studyUid: study.get('studyInstanceUid'),
          details: { transition: 'return', from: row.status, to },
        });
        return { row: report.get(), study: study.get() };
      });
      // The document is normally unlocked before final; this clears a lock left by a finalize
      // that crashed half-way (LOCK-7), so the resident can edit again.
      try {
        await sync.unlock(reportDocumentName(updated.row.id));
      } catch (error) {
        request.log.warn({ err: error, reportId: updated.row.id }, 'unlock after return failed');
      }
      return present(request, updated.row, updated.study);
    },
  );

  // ---------------------------------------------------------------- finalize

  const finalizeDeps = (request: FastifyRequest): FinalizeDeps => ({
    store,
    sync,
    claimTtlMs: CLAIM_TTL_MS,
    log: request.log,
    audit: (transaction, report, study, details) =>
      auditInTransaction(request, transaction, {
        eventId: 'PatientRecord',
        action: 'U',
        objectType: 'Report',
        objectId: report.id,
        patientId: study.patientId,
        studyUid: study.studyInstanceUid,
        details,
      }),
    onLoaded: (report, study) => subjectOf(request, report, study),
  });

  app.post(
    '/api/reports/:id/finalize',
    {
      config: { access: 'report:finalize', audit: reportAudit('U') },
      schema: {
        tags,
        summary: 'Sign what you saw: lock the document at the reviewed state, store the signed content',
        params: IdParams,
        body: ReportFinalize,
        response: {
          200: ReportSchema,
          400: ErrorResponse,
          403: ErrorResponse,
          404: ErrorResponse,
          409: ReportConflict,
          503: ErrorResponse,
        },
      },
    },
    async (request) => {
      const { stateVector, snapshot } = request.body;
      const input = { reportId: request.params.id, principal: principalOf(request), stateVector, snapshot };
      const result = await finalizeReport(finalizeDeps(request), input);
      if (result.outcome !== 'finalized') throw finalizeRefusal(result);
      return present(request, result.report, result.study);
    },
  );

  // ---------------------------------------------------------------- addenda and late edits

  app.post(
    '/api/reports/:id/addenda',
    {
      config: { access: 'report:addendum', audit: reportAudit('C') },
      schema: {
        tags,
        summary: 'Start an addendum to a final report (own document, draft → final)',
        params: IdParams,
        body: AddendumCreate,
        response: { 201: ReportSchema, 404: ErrorResponse, 409: ErrorResponse, 503: ErrorResponse },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const parent = (await store.loadReport(request.params.id)).get();
      const study = (await store.loadStudy(parent.studyRef)).get();
      subjectOf(request, parent, study);
      if (parent.parentReportId) throw conflict('an addendum is added to the original report', 'TRANSITION_NOT_ALLOWED');
      if (!isReportLocked(parent.status)) throw conflict('addenda are added to final reports only', 'TRANSITION_NOT_ALLOWED');
      const id = randomUUID();
      try {
        await sync.seed(reportDocumentName(id), b64(seedUpdate([{ title: 'Addendum', defaultText: request.body?.text ?? '' }])));
      } catch (error) {
        throw syncFailure(error);
      }
      const created = await store.transaction(async (transaction) => {
        const row = await store.createReport(
          { id, studyRef: study.id, parentReportId: parent.id, primarySlot: id, status: 'draft', authorId: principal.userId },
          transaction,
        );
        await auditInTransaction(request, transaction, {
          eventId: 'PatientRecord',
          action: 'C',
          objectType: 'Report',
          objectId: id,
          patientId: study.patientId,
          studyUid: study.studyInstanceUid,
          details: { addendumTo: parent.id },
        });
        return row.get();
      });
      reply.code(201);
      return present(request, created, study);
    },
  );

  app.get(
    '/api/reports/:id/late-edits',
    {
      config: { access: 'report:read', audit: reportAudit('R', true) },
      schema: {
        tags,
        summary: 'Edits the sync-server refused after the lock (for an addendum)',
        params: IdParams,
        response: { 200: ReportLateEdits, 404: ErrorResponse, 503: ErrorResponse },
      },
    },
    async (request) => {
      const row = (await store.loadReport(request.params.id)).get();
      const study = (await store.loadStudy(row.studyRef)).get();
      subjectOf(request, row, study);
      try {
        return await sync.lateEdits(reportDocumentName(row.id));
      } catch (error) {
        throw syncFailure(error);
      }
    },
  );

  // ---------------------------------------------------------------- PDF

  app.get(
    '/api/reports/:id/pdf',
    {
      config: { access: 'report:export', audit: { eventId: 'Export', action: 'R', objectType: 'Report', phi: true } },
      schema: { tags, summary: 'The report as PDF (PRELIMINARY watermark until final)', params: IdParams },
    },
    async (request, reply) => {
      let row = (await store.loadReport(request.params.id)).get();
      if (row.parentReportId) row = (await store.loadReport(row.parentReportId)).get();
      const study = (await store.loadStudy(row.studyRef)).get();
      subjectOf(request, row, study);
      const exported = await pdfExport.export(row, study, (r) => integrityOf(request, r, study));
      request.auditSubject.details = {
        status: row.status,
        addenda: exported.addenda,
        integrity: exported.integrityAlarm ? 'MISMATCH' : 'ok',
      };
      reply.header('content-type', 'application/pdf');
      reply.header('content-disposition', `attachment; filename="report-${row.id}.pdf"`);
      reply.header('cache-control', 'no-store');
      if (exported.integrityAlarm) reply.header('x-report-integrity', 'mismatch');
      return reply.send(exported.pdf);
    },
  );
}
