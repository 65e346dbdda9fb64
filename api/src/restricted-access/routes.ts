/**
 * Restriction (admin), break the glass (the user), and the privacy officer's review. Thin handlers:
 * the policy, windows, restrictions and review modules do the work.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  AccessWindow,
  AccessWindowList,
  BreakGlassRequest,
  checkBreakGlassReason,
  EmergencyAccess,
  EmergencyAccessPage,
  EmergencyAccessQuery,
  EmergencyAccessReview,
  ErrorResponse,
  IdParams,
  PatientRefParams,
  RestrictionState,
  RestrictionUpdate,
} from '@pacs/shared';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { AccessWindowAttributes } from '../db/restricted-access-models';
import { badRequest, conflict, notFound } from '../http-errors';
import { createRestrictions } from './restrictions';
import { createReview } from './review';

const presentWindow = (w: Pick<AccessWindowAttributes, 'id' | 'studyRef' | 'openedAt' | 'expiresAt' | 'closedAt'>): AccessWindow => ({
  id: w.id,
  studyId: w.studyRef,
  openedAt: new Date(w.openedAt).toISOString(),
  expiresAt: new Date(w.expiresAt).toISOString(),
  closedAt: w.closedAt ? new Date(w.closedAt).toISOString() : null,
});

export default async function restrictedAccessRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { models } = app.db;
  const { policy, windows } = app.restrictedAccess;
  const restrictions = createRestrictions(models);
  const review = createReview(models);
  const tags = ['restricted-access'];

  app.put(
    '/api/studies/:id/restriction',
    {
      config: { access: 'restriction:manage' },
      schema: {
        tags,
        summary: 'Restrict a study, or lift its restriction (one from an order or DICOM needs liftExternal)',
        params: IdParams,
        body: RestrictionUpdate,
        response: { 200: RestrictionState, 404: ErrorResponse, 409: ErrorResponse },
      },
    },
    async (request) => restrictions.setStudy(request, request.params.id, request.body.restricted, request.body.liftExternal === true),
  );

  app.put(
    '/api/patients/:id/restriction',
    {
      config: { access: 'restriction:manage' },
      schema: {
        tags,
        summary: "Restrict a patient (every study of theirs), or lift it; the id is the patient record's (a study's patientRef)",
        params: PatientRefParams,
        body: RestrictionUpdate,
        response: { 200: RestrictionState, 404: ErrorResponse },
      },
    },
    async (request) => restrictions.setPatient(request, request.params.id, request.body.restricted),
  );

  app.post(
    '/api/studies/:id/break-glass',
    {
      config: { access: 'study:break-glass' },
      schema: {
        tags,
        summary: "Open the study's restricted patient to this user for PACS_BREAK_GLASS_MINUTES, stating why (audited, reviewed)",
        params: IdParams,
        body: BreakGlassRequest,
        response: { 201: AccessWindow, 400: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse },
      },
    },
    async (request, reply) => {
      const checked = checkBreakGlassReason(request.body.reason);
      if (!checked.ok) {
        throw badRequest(checked.message, 'BAD_BREAK_GLASS_REASON');
      }
      const study = await models.Study.findByPk(request.params.id, { raw: true });
      if (!study) throw notFound('study not found');
      request.auditSubject = { objectType: 'Study', objectId: study.id, studyUid: study.studyInstanceUid };
      if (!(await policy.isRestricted(study))) throw conflict('the study is not restricted', 'NOT_RESTRICTED');
      const principal = request.principal!;
      const window = await windows.open(
        { userId: principal.userId, role: principal.role, networkAddress: request.ip, requestId: request.id },
        study,
        checked.reason,
      );
      // The start event is this request's audit row.
      request.auditRecorded = true;
      reply.code(201);
      return presentWindow(window);
    },
  );

  app.get(
    '/api/emergency-access',
    {
      config: { access: 'study:break-glass' },
      schema: { tags, summary: "This user's open emergency access windows", response: { 200: AccessWindowList } },
    },
    async (request) => {
      const open = await policy.openWindows(request.principal!.userId);
      return { items: [...open.values()].map((w) => presentWindow({ ...w, closedAt: null })) };
    },
  );

  app.delete(
    '/api/emergency-access/:id',
    {
      config: { access: 'study:break-glass' },
      schema: {
        tags,
        summary: 'Close one of your emergency access windows before it expires',
        params: IdParams,
        response: { 204: Type.Null(), 404: ErrorResponse, 409: ErrorResponse },
      },
    },
    async (request, reply) => {
      const principal = request.principal!;
      const window = await models.AccessWindow.findByPk(request.params.id, { raw: true });
      // Someone else's window is as unknown as a missing one.
      if (!window || window.userId !== principal.userId) throw notFound('emergency access window not found');
      request.auditSubject = { objectType: 'EmergencyAccess', objectId: window.id };
      const closed = await windows.close(window.id, 'user', {
        userId: principal.userId,
        role: principal.role,
        networkAddress: request.ip,
        requestId: request.id,
      });
      if (!closed) throw conflict('the window is already closed or expired', 'ACCESS_WINDOW_CLOSED');
      request.auditRecorded = true;
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/api/privacy/emergency-access',
    {
      config: { access: 'privacy:review', audit: { eventId: 'Query', action: 'R', objectType: 'EmergencyAccess', phi: true } },
      schema: {
        tags,
        summary: 'Emergency accesses for review, newest first (filter status=pending)',
        querystring: EmergencyAccessQuery,
        response: { 200: EmergencyAccessPage, 400: ErrorResponse },
      },
    },
    async (request) => {
      request.auditSubject = { details: { status: request.query.status ?? 'all' } };
      return review.list(request.query);
    },
  );

  app.post(
    '/api/privacy/emergency-access/:id/review',
    {
      config: { access: 'privacy:review' },
      schema: {
        tags,
        summary: "Sign off an emergency access: 'justified' or 'not-justified', with a note",
        params: IdParams,
        body: EmergencyAccessReview,
        response: { 200: EmergencyAccess, 404: ErrorResponse, 409: ErrorResponse },
      },
    },
    async (request) => review.review(request, request.params.id, request.body.verdict, request.body.note?.trim() ?? ''),
  );
}
