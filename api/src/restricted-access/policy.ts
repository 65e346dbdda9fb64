/**
 * Who may see a restricted study's patient data. A study is restricted when its own row says so
 * (admin, order, DICOM) or its patient is in `restricted_patients`. A user sees it when the study is
 * assigned to them, or while they hold an open emergency access window for its patient (not closed,
 * not past its expiry: access ends at expiry even before the sweeper records the stop). Everyone
 * else gets the masked row, and 403 RESTRICTED_STUDY for anything more. Deny by default: the
 * decision is made from the database on each request, never from a cache.
 */
import type { StudyAccess } from '@pacs/shared';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { literal, Op, type WhereOptions } from 'sequelize';
import type { Models, StudyAttributes } from '../db/models';
import { forbidden } from '../http-errors';

export type StudyFacts = Pick<StudyAttributes, 'id' | 'patientRef' | 'restricted' | 'assigneeId'>;

export interface AccessDecision {
  restricted: boolean;
  access: StudyAccess;
  /** The emergency access window that opened it, when that is why. */
  windowId: string | null;
  /** When that window ends. */
  until: Date | null;
}

export interface OpenWindow {
  id: string;
  patientRef: string;
  studyRef: string;
  openedAt: Date;
  expiresAt: Date;
}

const OPEN: AccessDecision = { restricted: false, access: 'open', windowId: null, until: null };

export class AccessPolicy {
  constructor(
    private readonly models: Models,
    private readonly now: () => number = Date.now,
  ) {}

  /** Which of these patients are restricted as patients. */
  async restrictedPatients(patientRefs: readonly string[]): Promise<Set<string>> {
    const refs = [...new Set(patientRefs)];
    if (refs.length === 0) return new Set();
    const rows = await this.models.RestrictedPatient.findAll({
      where: { patientRef: { [Op.in]: refs } },
      attributes: ['patientRef'],
      raw: true,
    });
    return new Set(rows.map((r) => r.patientRef));
  }

  /** The user's open windows, by patient (the latest-ending one when several are open). */
  async openWindows(userId: string, patientRefs?: readonly string[]): Promise<Map<string, OpenWindow>> {
    if (patientRefs && patientRefs.length === 0) return new Map();
    const rows = await this.models.AccessWindow.findAll({
      where: {
        userId,
        closedAt: null,
        expiresAt: { [Op.gt]: new Date(this.now()) },
        ...(patientRefs ? { patientRef: { [Op.in]: [...new Set(patientRefs)] } } : {}),
      },
      attributes: ['id', 'patientRef', 'studyRef', 'openedAt', 'expiresAt'],
      order: [['expiresAt', 'ASC']],
      raw: true,
    });
    return new Map(rows.map((r) => [r.patientRef, { ...r, expiresAt: new Date(r.expiresAt), openedAt: new Date(r.openedAt) }]));
  }

  /** Whether the study is restricted, on its own row or through its patient. */
  async isRestricted(study: Pick<StudyAttributes, 'patientRef' | 'restricted'>): Promise<boolean> {
    return Boolean(study.restricted) || (await this.restrictedPatients([study.patientRef])).size > 0;
  }

  /** One decision per study, with two queries for the whole page. */
  async decide(userId: string, studies: readonly StudyFacts[], patientRestricted?: Set<string>): Promise<Map<string, AccessDecision>> {
    const byPatient = patientRestricted ?? (await this.restrictedPatients(studies.map((s) => s.patientRef)));
    const restricted = studies.filter((s) => s.restricted || byPatient.has(s.patientRef));
    const decisions = new Map<string, AccessDecision>(studies.map((s) => [s.id, OPEN]));
    if (restricted.length === 0) return decisions;
    const windows = await this.openWindows(
      userId,
      restricted.map((s) => s.patientRef),
    );
    for (const study of restricted) {
      const window = windows.get(study.patientRef);
      if (study.assigneeId === userId)
        decisions.set(study.id, { restricted: true, access: 'open', windowId: window?.id ?? null, until: window?.expiresAt ?? null });
      else if (window) decisions.set(study.id, { restricted: true, access: 'open', windowId: window.id, until: window.expiresAt });
      else decisions.set(study.id, { restricted: true, access: 'masked', windowId: null, until: null });
    }
    return decisions;
  }

  async decideOne(userId: string, study: StudyFacts): Promise<AccessDecision> {
    return (await this.decide(userId, [study])).get(study.id)!;
  }

  /**
   * For a request about one study: 403 RESTRICTED_STUDY (audited as a refusal) when this user may
   * not see it; otherwise the window that opened it is noted on the request, so its audit row
   * carries the window id.
   */
  async assertStudy(request: FastifyRequest, study: StudyFacts): Promise<AccessDecision> {
    const decision = await this.decideOne(request.principal!.userId, study);
    if (decision.access === 'masked') {
      throw forbidden('the patient is restricted: break the glass with a reason, or be assigned to the study', 'RESTRICTED_STUDY');
    }
    noteWindow(request, decision.windowId);
    return decision;
  }

  /** Of these studies, the ids this user may not see (restricted, no access). */
  async maskedStudies(userId: string, studies: readonly StudyFacts[]): Promise<Set<string>> {
    const decisions = await this.decide(userId, studies);
    return new Set([...decisions].filter(([, d]) => d.access === 'masked').map(([id]) => id));
  }

  /** Of these patients, those restricted as patients for whom this user holds no open window. */
  async maskedPatients(userId: string, patientRefs: readonly string[]): Promise<Set<string>> {
    const restricted = await this.restrictedPatients(patientRefs);
    if (restricted.size === 0) return restricted;
    const windows = await this.openWindows(userId, [...restricted]);
    return new Set([...restricted].filter((ref) => !windows.has(ref)));
  }

  /**
   * Rows this user may see unmasked, as a WHERE condition: for searches by patient name or id,
   * where even a masked row in the answer would tell that the restricted patient matched.
   */
  visibleWhere(userId: string): WhereOptions<StudyAttributes> {
    // Subqueries, not lists read first: no round trips before the search, and no list of every
    // restricted patient written into the statement.
    const { RestrictedPatient, AccessWindow } = this.models;
    const generator = RestrictedPatient.sequelize!.getQueryInterface().queryGenerator as unknown as {
      selectQuery(table: string, options: object, model: unknown): string;
    };
    const subquery = (table: string, options: object, model: unknown) =>
      literal(`(${generator.selectQuery(table, options, model).replace(/;\s*$/, '')})`);
    const restrictedPatients = subquery(RestrictedPatient.getTableName() as string, { attributes: ['patientRef'] }, RestrictedPatient);
    const openWindows = subquery(
      AccessWindow.getTableName() as string,
      { attributes: ['patientRef'], where: { userId, closedAt: null, expiresAt: { [Op.gt]: new Date(this.now()) } } },
      AccessWindow,
    );
    return {
      [Op.or]: [
        { [Op.and]: [{ restricted: false }, { patientRef: { [Op.notIn]: restrictedPatients } }] },
        { assigneeId: userId },
        { patientRef: { [Op.in]: openWindows } },
      ],
    };
  }
}

/** The window(s) a request's patient data came through, for its audit row. */
export function noteWindow(request: FastifyRequest, windowId: string | null): void {
  if (!windowId) return;
  const ids = request.emergencyAccess ?? [];
  if (!ids.includes(windowId)) ids.push(windowId);
  request.emergencyAccess = ids;
}

/**
 * For a plugin whose routes are about one study (`/api/studies/:id/…`) or one report
 * (`/api/reports/:id/…`): before any handler runs, the study behind the path is checked, so no
 * report route can forget it. A path naming nothing that exists is left to the handler's 404.
 */
export function guardStudyRoutes(app: FastifyInstance): void {
  const { models } = app.db;
  app.addHook('preHandler', async (request) => {
    const url = request.routeOptions.url ?? '';
    const id = (request.params as { id?: unknown } | undefined)?.id;
    if (typeof id !== 'string') return;
    let studyId: string | null = null;
    if (url.startsWith('/api/studies/:id')) studyId = id;
    else if (url.startsWith('/api/reports/:id')) {
      const report = await models.Report.findByPk(id, { attributes: ['studyRef'], raw: true });
      studyId = report?.studyRef ?? null;
    } else return;
    if (!studyId) return;
    const study = await models.Study.findByPk(studyId, {
      attributes: ['id', 'patientRef', 'restricted', 'assigneeId', 'patientId', 'studyInstanceUid'],
      raw: true,
    });
    if (!study) return;
    request.auditSubject = { ...request.auditSubject, patientId: study.patientId, studyUid: study.studyInstanceUid };
    await app.restrictedAccess.policy.assertStudy(request, study);
  });
}
