/**
 * FHIR R4, read-only, under /fhir: read and search Patient, ServiceRequest, ImagingStudy and
 * DiagnosticReport, with the same bearer tokens, permissions and audit as the rest of the API.
 * Searches page by keyset (`_cursor`, handed out in the `next` link); refusals are
 * OperationOutcomes (the one error handler writes them for /fhir).
 */

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { col, fn, Op, where as sqlWhere, type WhereOptions } from 'sequelize';
import { criticalResultsOf } from '../critical-results/communication-record';
import type { CriticalResultAttributes } from '../db/critical-models';
import type { Models, ReportAttributes } from '../db/models';
import type { OrderAttributes } from '../db/order-models';
import { forbidden, notFound } from '../http-errors';
import { checkIntegrity } from '../reports/report-audit';
import { verifyIntegrity } from '../reports/signing';
import { FHIR_JSON } from './operation-outcome';
import {
  diagnosticReportResource,
  type FhirResource,
  imagingStudyResource,
  patientResource,
  SYSTEMS,
  serviceRequestResource,
} from './resources';
import { type RawQuery, readSearch, SEARCHABLE, type SearchableType, type SearchParams } from './search';

const RESULT_STATUSES = ['preliminary', 'final', 'addended'] as const;
const FHIR_TO_REPORT: Readonly<Record<string, ReportAttributes['status'][]>> = {
  preliminary: ['preliminary'],
  final: ['final'],
  amended: ['addended'],
};
const FHIR_TO_ORDER: Readonly<Record<string, OrderAttributes['status'][]>> = {
  active: ['scheduled'],
  'on-hold': ['on_hold'],
  revoked: ['cancelled'],
  completed: ['arrived'],
};

function statusesFor<T extends string>(map: Readonly<Record<string, T[]>>, wanted: string[] | undefined): T[] | undefined {
  if (!wanted) return undefined;
  return wanted.flatMap((status) => map[status] ?? []);
}

interface SearchResult {
  resources: FhirResource[];
  /** Present when there are more: the id to continue after. */
  next?: string;
  patientIds: string[];
}

export default async function fhirRoutes(app: FastifyInstance) {
  const { models } = app.db;
  const base = `${app.config.publicUrl.proto}://${app.config.publicUrl.host}/fhir`;

  const bundle = (request: FastifyRequest, type: string, result: SearchResult) => {
    const query = new URLSearchParams(request.query as Record<string, string>);
    query.delete('_cursor');
    const self = `${base}/${type}${query.size ? `?${query}` : ''}`;
    const link = [{ relation: 'self', url: self }];
    if (result.next) {
      query.set('_cursor', result.next);
      link.push({ relation: 'next', url: `${base}/${type}?${query}` });
    }
    return {
      resourceType: 'Bundle',
      type: 'searchset',
      link,
      entry: result.resources.map((resource) => ({ fullUrl: `${base}/${type}/${resource.id}`, resource, search: { mode: 'match' } })),
    };
  };

  const page = <T extends { id: string }>(rows: T[], count: number) => ({
    rows: rows.slice(0, count),
    next: rows.length > count ? rows[count - 1]!.id : undefined,
  });

  const keyset = (params: SearchParams): WhereOptions[] => [
    ...(params.cursor ? [{ id: { [Op.gt]: params.cursor } }] : []),
    ...(params.id ? [{ id: params.id }] : []),
  ];

  const { policy } = app.restrictedAccess;
  /**
   * Restricted patients leave FHIR only to a user with access: searches leave them out (after
   * paging, so the next link stays right), reads answer 403 RESTRICTED_STUDY.
   */
  const studyFacts = (ids: string[]) =>
    models.Study.findAll({
      where: { id: { [Op.in]: [...new Set(ids)] } },
      attributes: ['id', 'patientRef', 'restricted', 'assigneeId'],
      paranoid: false,
      raw: true,
    });

  const searches: Record<SearchableType, (params: SearchParams, userId: string) => Promise<SearchResult>> = {
    async Patient(params, userId) {
      const conditions: WhereOptions[] = keyset(params);
      if (params.identifier) conditions.push({ patientId: params.identifier.value });
      if (params.birthdate) conditions.push({ birthDate: params.birthdate });
      if (params.name)
        conditions.push(sqlWhere(fn('lower', col('name')), Op.like, `%${params.name.toLowerCase().replace(/[%_\\]/g, '')}%`));
      const rows = await models.Patient.findAll({
        where: { [Op.and]: conditions },
        order: [['id', 'ASC']],
        limit: params.count + 1,
        raw: true,
      });
      const system = params.identifier?.system;
      const { rows: paged, next } = page(system ? rows.filter((p) => SYSTEMS.issuer(p.issuerOfPatientId) === system) : rows, params.count);
      const masked = await policy.maskedPatients(
        userId,
        paged.map((p) => p.id),
      );
      const shown = paged.filter((p) => !masked.has(p.id));
      return { resources: shown.map(patientResource), next, patientIds: shown.map((p) => p.patientId) };
    },
    async ServiceRequest(params, userId) {
      const conditions: WhereOptions[] = keyset(params);
      if (params.patient) conditions.push({ patientRef: params.patient });
      const statuses = statusesFor(FHIR_TO_ORDER, params.status);
      if (statuses) conditions.push({ status: { [Op.in]: statuses } });
      if (params.identifier)
        conditions.push({ [Op.or]: [{ accessionNumber: params.identifier.value }, { placerOrderNumber: params.identifier.value }] });
      const rows = await models.Order.findAll({
        where: { [Op.and]: conditions },
        order: [['id', 'ASC']],
        limit: params.count + 1,
        raw: true,
      });
      const { rows: paged, next } = page(rows, params.count);
      const maskedStudies = await policy.maskedStudies(
        userId,
        await studyFacts(paged.map((o) => o.studyRef).filter((id): id is string => id !== null)),
      );
      const maskedPatients = await policy.maskedPatients(
        userId,
        paged.filter((o) => o.studyRef === null).map((o) => o.patientRef),
      );
      const shown = paged.filter((o) => (o.studyRef === null ? !maskedPatients.has(o.patientRef) : !maskedStudies.has(o.studyRef)));
      return {
        resources: shown.map(serviceRequestResource),
        next,
        patientIds: await patientIdsOf(
          models,
          shown.map((o) => o.patientRef),
        ),
      };
    },
    async ImagingStudy(params, userId) {
      const conditions: WhereOptions[] = keyset(params);
      if (params.patient) conditions.push({ patientRef: params.patient });
      if (params.status) {
        const wanted = params.status;
        if (wanted.includes('registered') && !wanted.includes('available')) conditions.push({ status: 'scheduled' });
        else if (wanted.includes('available') && !wanted.includes('registered')) conditions.push({ status: { [Op.ne]: 'scheduled' } });
        else if (!wanted.includes('available')) conditions.push({ id: null });
      }
      if (params.identifier) {
        const uid = params.identifier.value.replace(/^urn:oid:/, '');
        conditions.push({ [Op.or]: [{ studyInstanceUid: uid }, { accessionNumber: params.identifier.value }] });
      }
      const rows = await models.Study.findAll({
        where: { [Op.and]: conditions },
        order: [['id', 'ASC']],
        limit: params.count + 1,
        raw: true,
      });
      const { rows: paged, next } = page(rows, params.count);
      const masked = await policy.maskedStudies(userId, paged);
      const shown = paged.filter((s) => !masked.has(s.id));
      return { resources: shown.map(imagingStudyResource), next, patientIds: shown.map((s) => s.patientId) };
    },
    async DiagnosticReport(params, userId) {
      const conditions: WhereOptions[] = [...keyset(params)];
      const statuses = statusesFor(FHIR_TO_REPORT, params.status) ?? [...RESULT_STATUSES];
      conditions.push({ status: { [Op.in]: statuses } });
      if (params.patient || params.identifier) {
        const studyWhere: WhereOptions[] = [];
        if (params.patient) studyWhere.push({ patientRef: params.patient });
        if (params.identifier) studyWhere.push({ accessionNumber: params.identifier.value });
        const studies = await models.Study.findAll({ where: { [Op.and]: studyWhere }, attributes: ['id'], raw: true });
        // A study's primary report holds the study's id as its slot (addenda their own): one lookup
        // in a unique index. `parentReportId IS NULL` would lead SQLite to the index of all NULLs.
        conditions.push({ primarySlot: { [Op.in]: studies.map((s) => s.id) } });
      } else {
        conditions.push({ parentReportId: null });
      }
      for (const bound of params.dates) {
        const on = (column: 'finalSignedAt' | 'preliminarySignedAt') => {
          switch (bound.prefix) {
            case 'ge':
              return { [column]: { [Op.gte]: bound.start } };
            case 'gt':
              return { [column]: { [Op.gte]: bound.end } };
            case 'le':
              return { [column]: { [Op.lt]: bound.end } };
            case 'lt':
              return { [column]: { [Op.lt]: bound.start } };
            default:
              return { [column]: { [Op.gte]: bound.start, [Op.lt]: bound.end } };
          }
        };
        conditions.push({ [Op.or]: [on('finalSignedAt'), { [Op.and]: [{ finalSignedAt: null }, on('preliminarySignedAt')] }] });
      }
      const rows = await models.Report.findAll({
        where: { [Op.and]: conditions },
        order: [['id', 'ASC']],
        limit: params.count + 1,
        raw: true,
      });
      const { rows: shown, next } = page(rows, params.count);
      // One query for the page's studies and one for their addenda, not two per report.
      const studies = new Map(
        (
          await models.Study.findAll({ where: { id: { [Op.in]: [...new Set(shown.map((r) => r.studyRef))] } }, paranoid: false, raw: true })
        ).map((study) => [study.id, study]),
      );
      const addenda = await addendaOf(
        models,
        shown.map((r) => r.id),
      );
      const critical = await criticalOf(models, shown, addenda);
      const masked = await policy.maskedStudies(userId, [...studies.values()]);
      const resources: FhirResource[] = [];
      const patientIds: string[] = [];
      for (const report of shown) {
        const study = studies.get(report.studyRef);
        if (!study || masked.has(study.id)) continue;
        const own = addenda.get(report.id) ?? [];
        const unreliable = [report, ...own].some((r) => verifyIntegrity(r, app.reportKeys) === false);
        resources.push(diagnosticReportResource(report, study, own, critical.get(report.id), unreliable));
        patientIds.push(study.patientId);
      }
      return { resources, next, patientIds };
    },
  };

  const reads: Record<SearchableType, (id: string, request: FastifyRequest) => Promise<FhirResource | null>> = {
    async Patient(id, request) {
      const row = await models.Patient.findByPk(id, { raw: true });
      if (!row) return null;
      request.auditSubject = { objectType: 'Patient', objectId: id, patientId: row.patientId };
      if ((await policy.maskedPatients(request.principal!.userId, [row.id])).size > 0) {
        throw forbidden('the patient is restricted', 'RESTRICTED_STUDY');
      }
      return patientResource(row);
    },
    async ServiceRequest(id, request) {
      const row = await models.Order.findByPk(id, { raw: true });
      if (!row) return null;
      request.auditSubject = { objectType: 'Order', objectId: id, patientId: (await patientIdsOf(models, [row.patientRef]))[0] };
      const study = row.studyRef ? (await studyFacts([row.studyRef]))[0] : undefined;
      if (study) await policy.assertStudy(request, study);
      else if ((await policy.maskedPatients(request.principal!.userId, [row.patientRef])).size > 0) {
        throw forbidden('the patient is restricted', 'RESTRICTED_STUDY');
      }
      return serviceRequestResource(row);
    },
    async ImagingStudy(id, request) {
      const row = await models.Study.findByPk(id, { raw: true });
      if (!row) return null;
      request.auditSubject = { objectType: 'Study', objectId: id, patientId: row.patientId, studyUid: row.studyInstanceUid };
      await policy.assertStudy(request, row);
      return imagingStudyResource(row);
    },
    async DiagnosticReport(id, request) {
      const report = await models.Report.findByPk(id, { raw: true });
      if (!report || report.parentReportId || !(RESULT_STATUSES as readonly string[]).includes(report.status)) return null;
      const study = await models.Study.findByPk(report.studyRef, { raw: true, paranoid: false });
      if (!study) return null;
      request.auditSubject = { objectType: 'Report', objectId: id, patientId: study.patientId, studyUid: study.studyInstanceUid };
      await policy.assertStudy(request, study);
      const addenda = await addendaOf(models, [report.id]);
      const own = addenda.get(report.id) ?? [];
      let unreliable = false;
      // Reading one report raises the integrity alarm (audited) like every other read of it.
      for (const r of [report, ...own]) if ((await checkIntegrity(request, r, study)).verified === false) unreliable = true;
      return diagnosticReportResource(report, study, own, (await criticalOf(models, [report], addenda)).get(report.id), unreliable);
    },
  };

  for (const type of Object.keys(SEARCHABLE) as SearchableType[]) {
    const access = type === 'DiagnosticReport' ? 'report:read' : 'study:read';
    app.get(
      `/fhir/${type}`,
      {
        config: { access, audit: { eventId: 'Query', action: 'R', objectType: `FHIR ${type}`, phi: true } },
        schema: { tags: ['fhir'], summary: `Search ${type} (FHIR R4 searchset Bundle)` },
      },
      async (request, reply) => {
        const params = readSearch(type, request.query as RawQuery);
        const result = await searches[type](params, request.principal!.userId);
        request.auditSubject = {
          patientId: [...new Set(result.patientIds)].length === 1 ? result.patientIds[0] : undefined,
          details: { criteria: request.query, returned: result.resources.length },
        };
        reply.type(FHIR_JSON);
        return bundle(request, type, result);
      },
    );
    app.get(
      `/fhir/${type}/:id`,
      {
        config: { access, audit: { eventId: 'PatientRecord', action: 'R', objectType: `FHIR ${type}`, phi: true } },
        schema: { tags: ['fhir'], summary: `Read one ${type} (FHIR R4)` },
      },
      async (request, reply) => {
        const { id } = request.params as { id: string };
        const resource = /^[0-9a-f-]{36}$/i.test(id) ? await reads[type](id.toLowerCase(), request) : null;
        if (!resource) throw notFound(`${type}/${id.slice(0, 64)} is not known here`);
        reply.type(FHIR_JSON);
        return resource;
      },
    );
  }
}

async function patientIdsOf(models: Models, refs: string[]): Promise<string[]> {
  if (refs.length === 0) return [];
  const rows = await models.Patient.findAll({
    where: { id: { [Op.in]: [...new Set(refs)] } },
    attributes: ['patientId'],
    paranoid: false,
    raw: true,
  });
  return rows.map((r) => r.patientId);
}

/** The signed addenda of these reports, oldest first, by the report they add to. */
async function addendaOf(models: Models, reportIds: string[]): Promise<Map<string, ReportAttributes[]>> {
  const byParent = new Map<string, ReportAttributes[]>();
  if (reportIds.length === 0) return byParent;
  const rows = await models.Report.findAll({
    where: { parentReportId: { [Op.in]: reportIds }, status: 'final' },
    order: [['finalSignedAt', 'ASC']],
    raw: true,
  });
  for (const row of rows) byParent.set(row.parentReportId!, [...(byParent.get(row.parentReportId!) ?? []), row]);
  return byParent;
}

/** Each primary report's critical results, its addenda's included, by the primary report's id. */
async function criticalOf(
  models: Models,
  reports: ReportAttributes[],
  addenda: Map<string, ReportAttributes[]>,
): Promise<Map<string, CriticalResultAttributes[]>> {
  const parentOf = new Map<string, string>();
  for (const report of reports) {
    parentOf.set(report.id, report.id);
    for (const addendum of addenda.get(report.id) ?? []) parentOf.set(addendum.id, report.id);
  }
  const byReport = new Map<string, CriticalResultAttributes[]>();
  if (parentOf.size === 0) return byReport;
  for (const result of await criticalResultsOf(models, [...parentOf.keys()])) {
    const parent = parentOf.get(result.reportId)!;
    byReport.set(parent, [...(byReport.get(parent) ?? []), result]);
  }
  return byReport;
}
