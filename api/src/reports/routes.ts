/**
 * Reporting workflow: one primary report per study (plus addenda), its lifecycle from
 * shared/src/workflow.ts (`reportTransition`, never a second matrix), document sessions for the
 * sync-server, the finalization lock, late edits and the PDF export.
 *
 * Finalize is all or nothing, in three steps, because the sync-server writes to the same database
 * (on SQLite a transaction held across its lock call would block it):
 *  1. claim: in a short transaction the report row is locked, the transition checked and a claim
 *     (finalizingBy/At, version + 1) stored. A second finalize, submit or return while the claim
 *     stands gets 409: two attendings signing at once give one 200 and one 409.
 *  2. the sync-server locks the document with the reviewed state vector (+ snapshot); its 409
 *     becomes ours with nothing locked, and the claim is released.
 *  3. one transaction stores content, hash, signer and time, moves report and study, audits. If it
 *     fails, the document is unlocked again (compensation) and the claim released.
 * A claim older than CLAIM_TTL_MS (a crashed API) may be taken over; the document may then already
 * be locked, which is accepted only when the locked state holds nothing the signer has not seen.
 */
import { randomUUID } from 'node:crypto';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  AddendumCreate,
  documentModeFor,
  ErrorResponse,
  IdParams,
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
import type { ReportAttributes, StudyAttributes } from '../db/models';
import { badRequest, conflict, forbidden, HttpError, notFound } from '../http-errors';
import { auditInTransaction } from '../plugins/audit-trail';
import { b64, coversLockedState, seedUpdate, unb64 } from './content';
import { signDocumentToken } from './document-token';
import { defaultFontDir } from './pdf';
import { PdfExport } from './pdf-export';
import { presentAddendum, presentReport } from './present';
import { createReportStore } from './report-store';
import { signLockedState, verifyIntegrity } from './signing';
import { SyncClient, SyncServerError, syncFailure } from './sync-client';
import { chooseSections } from './templates';

class ReportConflictError extends HttpError {
  constructor(
    message: string,
    code: string,
    readonly stateVector?: string,
  ) {
    super(409, message, code);
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
  const CLAIM_TTL_MS = Math.max(60_000, 3 * config.syncTimeoutMs);
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

  const claimActive = (row: ReportAttributes) =>
    row.finalizingAt !== null && Date.now() - new Date(row.finalizingAt).getTime() < CLAIM_TTL_MS;

  function refuseWhileFinalizing(row: ReportAttributes) {
    if (claimActive(row)) throw conflict('the report is being finalized', 'FINALIZE_IN_PROGRESS');
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
        finalizing: claimActive(row),
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
    async (request, reply) => {
      const principal = principalOf(request);
      const { stateVector, snapshot } = request.body;
      try {
        return await finalize(request, principal, stateVector, snapshot);
      } catch (error) {
        if (error instanceof ReportConflictError) {
          request.failureReason = error.message;
          return reply.code(409).send({
            statusCode: 409 as const,
            error: 'Conflict',
            message: error.message,
            code: error.code ?? 'CONFLICT',
            requestId: request.id,
            ...(error.stateVector ? { stateVector: error.stateVector } : {}),
          });
        }
        throw error;
      }
    },
  );

  async function finalize(
    request: FastifyRequest,
    principal: NonNullable<FastifyRequest['principal']>,
    stateVector: string,
    snapshot: string | undefined,
  ) {
    // 1. claim: plain reads, then one conditional UPDATE on (id, version, status). A concurrent
    // claim or transition bumps the version first, so exactly one claimant's UPDATE matches.
    const row = (await store.loadReport((request.params as { id: string }).id)).get();
    const study = (await store.loadStudy(row.studyRef)).get();
    subjectOf(request, row, study);
    check(row.status, 'finalize', request);
    if (row.parentReportId) {
      const parent = await store.findReport(row.parentReportId);
      if (!parent || !isReportLocked(parent.status)) throw conflict('the original report is not final', 'TRANSITION_NOT_ALLOWED');
    }
    refuseWhileFinalizing(row);
    const claim = await store.claimFinalize(row, principal.userId);
    if (!claim) throw conflict('the report changed while you were signing it', 'FINALIZE_IN_PROGRESS');
    const name = reportDocumentName(claim.reportId);
    const release = async () => {
      try {
        await store.releaseClaim(claim);
      } catch (error) {
        request.log.error({ err: error, reportId: claim.reportId }, 'could not release the finalize claim (expires by itself)');
      }
    };

    // 2. lock at the reviewed state
    let locked: Awaited<ReturnType<SyncClient['lock']>>;
    try {
      locked = await sync.lock(name, { stateVector, ...(snapshot ? { snapshot } : {}), lockedBy: principal.userId });
    } catch (error) {
      await release();
      if (error instanceof SyncServerError && error.status === 409) {
        throw new ReportConflictError(
          'the document holds edits you have not seen; review them and sign again',
          'UNSEEN_UPDATES',
          typeof error.body.stateVector === 'string' ? error.body.stateVector : undefined,
        );
      }
      if (error instanceof SyncServerError && error.status === 400)
        throw badRequest('stateVector or snapshot is not a valid Yjs encoding', 'BAD_STATE');
      throw syncFailure(error);
    }
    if (locked.alreadyLocked) {
      let covered = false;
      try {
        covered = coversLockedState(unb64(locked.update), unb64(stateVector), snapshot ? unb64(snapshot) : undefined);
      } catch {
        await release();
        throw badRequest('stateVector or snapshot is not a valid Yjs encoding', 'BAD_STATE');
      }
      if (!covered) {
        await release();
        throw new ReportConflictError('the document was locked at a state you have not seen', 'UNSEEN_UPDATES', locked.stateVector);
      }
    }

    // 3. store, all or nothing
    try {
      const signed = signLockedState(claim.reportId, locked, principal);
      const result = await store.transaction(async (transaction) => {
        const report = await store.loadReport(claim.reportId, transaction);
        const row = report.get();
        if (row.finalizingBy !== principal.userId || row.version !== claim.version) {
          throw conflict('the report changed while it was being finalized', 'STALE_VERSION');
        }
        const to = check(row.status, 'finalize', request);
        const study = await store.loadStudy(row.studyRef, transaction);
        await report.update({ status: to, ...signed, finalizingBy: null, finalizingAt: null, version: row.version + 1 }, { transaction });
        await auditInTransaction(request, transaction, {
          eventId: 'PatientRecord',
          action: 'U',
          objectType: 'Report',
          objectId: row.id,
          patientId: study.get('patientId'),
          studyUid: study.get('studyInstanceUid'),
          details: { transition: 'finalize', from: row.status, to, hash: signed.contentHash, addendum: row.parentReportId !== null },
        });
        if (row.parentReportId) {
          const parent = await store.loadReport(row.parentReportId, transaction);
          const step = reportTransition(parent.get('status'), 'addendum-finalized', 'system');
          if (!step.ok) throw conflict(step.message, 'TRANSITION_NOT_ALLOWED');
          await parent.update({ status: step.to, version: parent.get('version') + 1 }, { transaction });
        } else {
          // Last: it takes the worklist counter's lock, which every other writer waits for until COMMIT.
          await store.followStudy(study, 'report-finalized', transaction);
        }
        return { row: report.get(), study: study.get() };
      });
      return present(request, result.row, result.study);
    } catch (error) {
      // Compensation: nothing is final, so the document must not stay locked.
      if (!locked.alreadyLocked) {
        try {
          await sync.unlock(name);
        } catch (unlockError) {
          request.log.error(
            { err: unlockError, reportId: claim.reportId },
            'finalize failed and the unlock failed too: the document stays locked until the report is returned or finalized',
          );
        }
      }
      await release();
      throw error;
    }
  }

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
