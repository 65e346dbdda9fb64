/**
 * Reporting workflow over HTTP: one primary report per study (plus addenda), its lifecycle from
 * shared/src/workflow.ts (`reportTransition`, never a second matrix), document sessions for the
 * sync-server, late edits and the PDF export. Handlers read the request, call the domain and
 * answer: report-store.ts (rows), review.ts (submit, return), finalize.ts (the signing saga),
 * signing.ts (content hash), templates.ts (template choice), pdf-export.ts, report-audit.ts.
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
  ReportConflict,
  ReportCreate,
  ReportFinalize,
  ReportLateEdits,
  ReportReturn,
  Report as ReportSchema,
  ReportSession,
  ReportSubmit,
  reportDocumentName,
  StudyReportQuery,
} from '@pacs/shared';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { UniqueConstraintError } from 'sequelize';
import type { ReportAttributes, StudyAttributes } from '../db/models';
import { badRequest, conflict, forbidden, type HttpError, notFound } from '../http-errors';
import { KeyImageThumbnails } from '../measurements/pdf-key-images';
import { guardStudyRoutes } from '../restricted-access/policy';
import { recentOpensOf } from '../worklist/recent-opens';
import { b64, contentFromUpdate, seedUpdate, unb64 } from './content';
import { signDocumentToken } from './document-token';
import { claimTtlFor, type FinalizeDeps, type FinalizeRefusal, finalizeReport } from './finalize';
import { PdfExport } from './pdf-export';
import { presentVerified } from './present';
import { checkIntegrity, recordReportChange, reportAudit, setReportSubject } from './report-audit';
import { createReportStore } from './report-store';
import { requiredFieldsOfTemplate } from './required-fields';
import { type ReviewDeps, returnReport, submitReport } from './review';
import { SyncClient, syncFailure } from './sync-client';
import { chooseSections, withClinicalHistory } from './templates';
import { createVersionStore } from './versions';

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
    case 'required-fields-empty':
      return conflict(refusal.message, 'REQUIRED_FIELDS_EMPTY', { fields: refusal.fields });
    case 'sync-failed':
      return syncFailure(refusal.cause);
  }
}

export default async function reportRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { models } = app.db;
  const store = createReportStore(app.db);
  const recentOpens = recentOpensOf(app.db.models);
  const versions = createVersionStore(models);
  const config = app.config;
  const sync = new SyncClient(config.syncUrl, config.syncServiceToken, config.syncTimeoutMs);
  const pdfExport = new PdfExport(config, store, sync, app.reportKeys, new KeyImageThumbnails(models, app.ingestion?.orthanc ?? null));
  const CLAIM_TTL_MS = claimTtlFor(config.syncTimeoutMs);
  const tags = ['reports'];
  // Restricted patients: every route here names a study or a report; none runs without access to it.
  guardStudyRoutes(app);
  if (!config.syncServiceToken) app.log.warn('PACS_SYNC_SERVICE_TOKEN not set: report creation, finalize and PDF of drafts answer 503');
  if (config.documentTokenSecretGenerated) {
    app.log.warn('PACS_DOCUMENT_TOKEN_SECRET not set: document tokens use a random key the sync-server cannot verify');
  }

  // ---------------------------------------------------------------- helpers

  const principalOf = (request: FastifyRequest) => request.principal!;

  /** The report and its study, read for a request that is then about them (its audit subject). */
  async function loadForRequest(request: FastifyRequest, reportId: string) {
    const row = (await store.loadReport(reportId)).get();
    const study = (await store.loadStudy(row.studyRef)).get();
    setReportSubject(request, row, study);
    return { row, study };
  }

  const present = (request: FastifyRequest, row: ReportAttributes, study: StudyAttributes) => presentVerified(request, store, row, study);

  /** Seeds a new report document; a report is never visible with an empty document. */
  async function seedDocument(reportId: string, sections: Parameters<typeof seedUpdate>[0]) {
    try {
      await sync.seed(reportDocumentName(reportId), b64(seedUpdate(sections)));
    } catch (error) {
      throw syncFailure(error);
    }
  }

  /** What the domain steps need from this request: where to audit, whose subject, which log. */
  const domainFor = (request: FastifyRequest): FinalizeDeps & ReviewDeps => ({
    store,
    sync,
    claimTtlMs: CLAIM_TTL_MS,
    keyring: app.reportKeys,
    versions,
    log: request.log,
    audit: (transaction, report, study, details) => recordReportChange(request, transaction, 'U', report, study, details),
    onLoaded: (report, study) => setReportSubject(request, report, study),
    onSigned: async (transaction, signed) => {
      await app.results.outbox.enqueue(signed, transaction);
    },
    onSubmitted: async (report, study) => {
      if (!config.hl7.results.preliminary) return;
      // The text as submitted: the document the resident can no longer change.
      const state = await sync.state(reportDocumentName(report.id));
      const text = contentFromUpdate(unb64(state.update)).contentText;
      await store.transaction((transaction) => app.results.outbox.enqueuePreliminary(report, study, text, transaction));
    },
  });

  // ---------------------------------------------------------------- create / read

  app.post(
    '/api/studies/:id/report',
    {
      config: { access: 'report:edit', audit: reportAudit('C') },
      schema: {
        tags,
        summary: "Create the study's report from a template (or return the existing one)",
        params: IdParams,
        body: ReportCreate,
        response: { 200: ReportSchema, 201: ReportSchema, 400: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse, 503: ErrorResponse },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const study = (await store.loadStudy(request.params.id)).get();
      request.auditSubject = { objectType: 'Report', patientId: study.patientId, studyUid: study.studyInstanceUid };
      // Starting (or reopening) a study's report is opening it: it stays on the user's devices for the recent days.
      await recentOpens.record(principal.userId, study.id);
      const existing = await store.primaryReportOf(study.id);
      if (existing) {
        setReportSubject(request, existing, study);
        return present(request, existing, study);
      }
      if (study.status === 'scheduled') throw conflict('the study is scheduled: its images have not arrived yet', 'NO_IMAGES_YET');
      const chosen = await chooseSections(models, study, request.body?.templateId);
      const { templateId } = chosen;
      const sections = withClinicalHistory(chosen.sections, await store.clinicalHistoryOf(study));
      const id = randomUUID();
      // Seeded before the row exists. If the insert then loses a race, the seeded document is
      // never referenced (and stays unused).
      await seedDocument(id, sections);
      try {
        const created = await store.transaction(async (transaction) => {
          const requiredFields = requiredFieldsOfTemplate(sections);
          const row = await store.createPrimaryReport(
            { id, studyId: study.id, authorId: principal.userId, templateId, requiredFields },
            transaction,
          );
          await store.followStudy(await store.loadStudy(study.id, transaction), 'start-reading', transaction);
          await recordReportChange(request, transaction, 'C', { id }, study, { templateId });
          return row.get();
        });
        setReportSubject(request, created, study);
        reply.code(201);
        return present(request, created, study);
      } catch (error) {
        // Lost the race for the study's one primary report: the winner's is the answer.
        const winner = error instanceof UniqueConstraintError ? await store.primaryReportOf(study.id) : null;
        if (!winner) throw error;
        setReportSubject(request, winner, study);
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
        querystring: StudyReportQuery,
        response: { 200: ReportSchema, 400: ErrorResponse, 404: ErrorResponse },
      },
    },
    async (request) => {
      const study = (await store.loadStudy(request.params.id)).get();
      const row = await store.primaryReportOf(study.id);
      if (!row) throw notFound('the study has no report yet', 'NO_REPORT_YET');
      setReportSubject(request, row, study);
      const shown = await present(request, row, study);
      if (request.query.purpose === 'device-copy') {
        // Downloaded to be held offline, not read: said in the audit row; the device records the read when it is opened.
        request.auditSubject.details = { purpose: 'device-copy' };
        return shown;
      }
      // Reading a study's report is opening it: it stays on the reader's devices for the recent days.
      await recentOpens.record(request.principal!.userId, study.id);
      return shown;
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
      const { row, study } = await loadForRequest(request, request.params.id);
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
      const { row, study } = await loadForRequest(request, request.params.id);
      const mode = documentModeFor(principal, {
        status: row.status,
        authorId: row.authorId,
        assigneeId: study.assigneeId,
        isAddendum: row.parentReportId !== null,
        finalizing: isFinalizing(row, CLAIM_TTL_MS),
      });
      if (mode === null) throw forbidden('no access to report documents', 'PERMISSION_DENIED');
      const document = reportDocumentName(row.id);
      const signer = { userId: principal.userId, role: principal.role, name: principal.name };
      const { token, expiresAt } = signDocumentToken(signer, document, mode, config.documentTokenSecret, config.documentTokenTtl);
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
        response: { 200: ReportSchema, 403: ErrorResponse, 404: ErrorResponse, 409: ReportConflict, 503: ErrorResponse },
      },
    },
    async (request) => {
      const input = { reportId: request.params.id, principal: principalOf(request), version: request.body?.version };
      const { row, study } = await submitReport(domainFor(request), input);
      return present(request, row, study);
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
      const { comment, version } = request.body;
      const input = { reportId: request.params.id, principal: principalOf(request), comment, version };
      const { row, study } = await returnReport(domainFor(request), input);
      return present(request, row, study);
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
    async (request) => {
      const { stateVector, snapshot } = request.body;
      const input = { reportId: request.params.id, principal: principalOf(request), stateVector, snapshot };
      const result = await finalizeReport(domainFor(request), input);
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
      const { row: parent, study } = await loadForRequest(request, request.params.id);
      if (parent.parentReportId) throw conflict('an addendum is added to the original report', 'TRANSITION_NOT_ALLOWED');
      if (!isReportLocked(parent.status)) throw conflict('addenda are added to final reports only', 'TRANSITION_NOT_ALLOWED');
      const id = randomUUID();
      await seedDocument(id, [{ title: 'Addendum', defaultText: request.body?.text ?? '' }]);
      const created = await store.transaction(async (transaction) => {
        const row = await store.createAddendum({ id, parent, authorId: principal.userId }, transaction);
        await recordReportChange(request, transaction, 'C', { id }, study, { addendumTo: parent.id });
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
      const { row } = await loadForRequest(request, request.params.id);
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
      setReportSubject(request, row, study);
      const exported = await pdfExport.export(row, study, async (r) => (await checkIntegrity(request, r, study)).verified);
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
