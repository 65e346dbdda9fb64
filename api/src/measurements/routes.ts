/**
 * Measurements and key images of a study, and a measurement cited in its report. Thin handlers over
 * the stores; the restricted-patient guard runs before each (guardStudyRoutes), every change commits
 * with its audit row, every read is audited as patient data.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  DicomExportResult,
  ErrorResponse,
  IdParams,
  isReportLocked,
  KeyImage,
  KeyImageCreate,
  KeyImageList,
  KeyImageParams,
  Measurement,
  MeasurementCitation,
  MeasurementCitationRequest,
  MeasurementCreate,
  MeasurementList,
  MeasurementParams,
  MeasurementUpdate,
  measurementSentence,
  viewerLink,
} from '@pacs/shared';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Transaction } from 'sequelize';
import { Type } from 'typebox';
import { auditInTransaction } from '../audit/recorder';
import { conflict, notFound } from '../http-errors';
import { guardStudyRoutes } from '../restricted-access/policy';
import { DicomExport } from './dicom-export';
import { KeyImageStore } from './key-image-store';
import { type AuditWrite, MeasurementStore, type StudySubject } from './measurement-store';

type ObjectType = 'Measurement' | 'KeyImage';

function auditChange(request: FastifyRequest, objectType: ObjectType, objectId: string, action: 'C' | 'U' | 'D'): AuditWrite {
  return (transaction: Transaction, subject: StudySubject) => {
    request.auditSubject = { objectType, objectId, patientId: subject.patientId, studyUid: subject.studyInstanceUid };
    return auditInTransaction(request, transaction, {
      eventId: 'PatientRecord',
      action,
      objectType,
      objectId,
      patientId: subject.patientId,
      studyUid: subject.studyInstanceUid,
    });
  };
}

function noteRead(
  request: FastifyRequest,
  objectType: ObjectType,
  objectId: string,
  subject: StudySubject,
  details: Record<string, unknown>,
): void {
  request.auditSubject = { objectType, objectId, patientId: subject.patientId, studyUid: subject.studyInstanceUid, details };
}

export default async function measurementRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { models, sequelize } = app.db;
  const measurements = new MeasurementStore(sequelize, models);
  const keyImages = new KeyImageStore(sequelize, models);
  const dicomExport = new DicomExport(models, app.ingestion?.orthanc ?? null, app.config.institutionName);
  const tags = ['measurements'];
  const errors = { 400: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse };
  guardStudyRoutes(app);
  const author = (request: FastifyRequest) => ({ userId: request.principal!.userId });

  app.get(
    '/api/studies/:id/measurements',
    {
      config: { access: 'measurement:read', audit: { eventId: 'PatientRecord', action: 'R', objectType: 'Measurement', phi: true } },
      schema: {
        tags,
        summary: "The study's measurements, everyone's (`mine` says which the caller may change)",
        params: IdParams,
        response: { 200: MeasurementList, ...errors },
      },
    },
    async (request) => {
      const { items, subject } = await measurements.list(request.params.id, author(request));
      noteRead(request, 'Measurement', subject.id, subject, { returned: items.length });
      return { items };
    },
  );

  app.post(
    '/api/studies/:id/measurements',
    {
      config: { access: 'measurement:edit', audit: { eventId: 'PatientRecord', action: 'C', objectType: 'Measurement' } },
      schema: {
        tags,
        summary: 'Keep a measurement drawn on one of the study’s images',
        description: 'The id is made by the device: replaying it (an offline outbox) answers the measurement recorded, with 200.',
        params: IdParams,
        body: MeasurementCreate,
        response: { 200: Measurement, 201: Measurement, ...errors },
      },
    },
    async (request, reply) => {
      const { id } = request.body;
      const done = await measurements.create(
        request.params.id,
        request.body,
        author(request),
        auditChange(request, 'Measurement', id, 'C'),
      );
      if (!done.created) noteRead(request, 'Measurement', id, done.subject, { replay: true });
      return reply.code(done.created ? 201 : 200).send(done.measurement);
    },
  );

  app.put(
    '/api/studies/:id/measurements/:measurementId',
    {
      config: { access: 'measurement:edit', audit: { eventId: 'PatientRecord', action: 'U', objectType: 'Measurement' } },
      schema: {
        tags,
        summary: 'Change one’s own measurement (moved handles, new label)',
        params: MeasurementParams,
        body: MeasurementUpdate,
        response: { 200: Measurement, ...errors },
      },
    },
    async (request) => {
      const { id, measurementId } = request.params;
      return measurements.update(id, measurementId, request.body, author(request), auditChange(request, 'Measurement', measurementId, 'U'));
    },
  );

  app.delete(
    '/api/studies/:id/measurements/:measurementId',
    {
      config: { access: 'measurement:edit', audit: { eventId: 'PatientRecord', action: 'D', objectType: 'Measurement' } },
      schema: { tags, summary: 'Delete one’s own measurement', params: MeasurementParams, response: { 204: Type.Null(), ...errors } },
    },
    async (request, reply) => {
      const { id, measurementId } = request.params;
      await measurements.remove(id, measurementId, author(request), auditChange(request, 'Measurement', measurementId, 'D'));
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/api/studies/:id/key-images',
    {
      config: { access: 'measurement:read', audit: { eventId: 'PatientRecord', action: 'R', objectType: 'KeyImage', phi: true } },
      schema: { tags, summary: 'The study’s key images', params: IdParams, response: { 200: KeyImageList, ...errors } },
    },
    async (request) => {
      const { items, subject } = await keyImages.list(request.params.id);
      noteRead(request, 'KeyImage', subject.id, subject, { returned: items.length });
      return { items };
    },
  );

  app.post(
    '/api/studies/:id/key-images',
    {
      config: { access: 'measurement:edit', audit: { eventId: 'PatientRecord', action: 'C', objectType: 'KeyImage' } },
      schema: {
        tags,
        summary: 'Flag an image of the study as key',
        description: 'Flagging an image that is key already, or replaying the id, answers the key image there is, with 200.',
        params: IdParams,
        body: KeyImageCreate,
        response: { 200: KeyImage, 201: KeyImage, ...errors },
      },
    },
    async (request, reply) => {
      const { id } = request.body;
      const done = await keyImages.flag(request.params.id, request.body, author(request), auditChange(request, 'KeyImage', id, 'C'));
      if (!done.created) noteRead(request, 'KeyImage', done.keyImage.id, done.subject, { replay: true });
      return reply.code(done.created ? 201 : 200).send(done.keyImage);
    },
  );

  app.delete(
    '/api/studies/:id/key-images/:keyImageId',
    {
      config: { access: 'measurement:edit', audit: { eventId: 'PatientRecord', action: 'D', objectType: 'KeyImage' } },
      schema: { tags, summary: 'Unflag a key image', params: KeyImageParams, response: { 204: Type.Null(), ...errors } },
    },
    async (request, reply) => {
      const { id, keyImageId } = request.params;
      await keyImages.unflag(id, keyImageId, auditChange(request, 'KeyImage', keyImageId, 'D'));
      return reply.code(204).send(null);
    },
  );

  const exportErrors = { ...errors, 502: ErrorResponse, 503: ErrorResponse };
  app.post(
    '/api/studies/:id/measurements/dicom-sr',
    {
      config: { access: 'measurement:edit', audit: { eventId: 'Export', action: 'E', objectType: 'MeasurementReport' } },
      schema: {
        tags,
        summary: 'Store the study’s measurements in the archive as a DICOM SR Measurement Report (TID 1500), for OHIF and other viewers',
        description: 'The same measurements exported again store nothing new (the instance UID follows from the content).',
        params: IdParams,
        response: { 200: DicomExportResult, ...exportErrors },
      },
    },
    async (request) => {
      const exported = await dicomExport.measurements(request.params.id, request.principal!.name);
      request.auditSubject = { ...request.auditSubject, objectType: 'MeasurementReport', objectId: exported.sopInstanceUid };
      return exported;
    },
  );

  app.post(
    '/api/studies/:id/key-images/dicom-kos',
    {
      config: { access: 'measurement:edit', audit: { eventId: 'Export', action: 'E', objectType: 'KeyObjectSelection' } },
      schema: {
        tags,
        summary: 'Store the study’s key images in the archive as a DICOM Key Object Selection document',
        params: IdParams,
        response: { 200: DicomExportResult, ...exportErrors },
      },
    },
    async (request) => {
      const exported = await dicomExport.keyImages(request.params.id);
      request.auditSubject = { ...request.auditSubject, objectType: 'KeyObjectSelection', objectId: exported.sopInstanceUid };
      return exported;
    },
  );

  app.post(
    '/api/reports/:id/measurement-citations',
    {
      config: { access: 'report:edit', audit: { eventId: 'PatientRecord', action: 'R', objectType: 'Measurement', phi: true } },
      schema: {
        tags,
        summary: 'The sentence and viewer link a measurement becomes in the report’s Findings',
        description: 'Refused with 409 REPORT_FINAL on a signed report: findings after signature go into an addendum.',
        params: IdParams,
        body: MeasurementCitationRequest,
        response: { 200: MeasurementCitation, ...errors },
      },
    },
    async (request) => {
      const report = await models.Report.findByPk(request.params.id, { attributes: ['id', 'studyRef', 'status'], raw: true });
      if (!report) throw notFound('report not found');
      if (isReportLocked(report.status)) throw conflict('the report is signed: add an addendum instead', 'REPORT_FINAL');
      const measurement = await measurements.get(report.studyRef, request.body.measurementId, author(request));
      request.auditSubject = {
        ...request.auditSubject,
        objectType: 'Measurement',
        objectId: measurement.id,
        details: { reportId: report.id },
      };
      return {
        measurementId: measurement.id,
        text: measurementSentence(measurement, { ...measurement }),
        href: viewerLink({ ...measurement, studyId: report.studyRef, measurementId: measurement.id }),
      };
    },
  );
}
