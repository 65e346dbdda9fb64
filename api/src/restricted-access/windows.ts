/**
 * Emergency access windows: opened by a user who states a reason, closed by that user or by time.
 * The start is audited as PS3.15 "Emergency Override Started" (DCM 110127) and the stop as
 * "Emergency Override Stopped" (DCM 110138), each in the transaction that changes the window.
 *
 * Expiry: access ends at `expiresAt` whatever happens (policy.ts compares it on every request). The
 * stop event of an expired window is written by the sweeper (every PACS_BREAK_GLASS_SWEEP_SECONDS
 * on every instance): a conditional UPDATE (`closedAt IS NULL`) claims the window, so of several
 * instances (or the user closing it at the same moment) exactly one writes the stop.
 *
 * Opening or closing a window moves the patient's worklist rows in the change feed, so devices pull
 * them again: open, the rows come with patient data; closed, masked, and the device drops what it had.
 */
import type { Role } from '@pacs/shared';
import type { FastifyBaseLogger } from 'fastify';
import { Op, type Transaction } from 'sequelize';
import type { AuditEntryInput, AuditRecorder } from '../audit/recorder';
import type { Models, StudyAttributes } from '../db/models';
import type { AccessWindowAttributes } from '../db/restricted-access-models';
import { nextChangeSeq } from '../worklist/change-feed';

export interface Actor {
  userId: string;
  role: Role | string;
  networkAddress?: string | null;
  requestId?: string | null;
}

type WindowStudy = Pick<StudyAttributes, 'id' | 'patientRef' | 'patientId' | 'studyInstanceUid'>;

/** Every row of the patient goes round the change feed again (no other column changes). */
export async function resendPatientRows(models: Models, patientRef: string, transaction: Transaction): Promise<void> {
  const rows = await models.Study.findAll({ where: { patientRef }, attributes: ['id'], transaction, raw: true });
  for (const row of rows) {
    await models.Study.update({ changeSeq: await nextChangeSeq(models, transaction) }, { where: { id: row.id }, transaction });
  }
}

export class AccessWindows {
  constructor(
    private readonly models: Models,
    private readonly audit: AuditRecorder,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  private stopEntry(
    window: AccessWindowAttributes,
    study: WindowStudy | null,
    by: 'user' | 'expiry',
    actor: Actor | null,
  ): AuditEntryInput {
    return {
      eventId: 'SecurityAlert',
      action: 'E',
      outcome: 0,
      userId: actor?.userId ?? window.userId,
      userRole: actor?.role ?? null,
      networkAddress: actor?.networkAddress ?? null,
      requestId: actor?.requestId ?? null,
      objectType: 'EmergencyAccess',
      objectId: window.id,
      patientId: study?.patientId || undefined,
      studyUid: study?.studyInstanceUid,
      details: { event: 'emergency-override-stopped', emergencyAccess: [window.id], closedBy: by },
    };
  }

  /** Opens a window for the user and the study's patient; the reason is already checked. */
  async open(actor: Actor, study: WindowStudy, reason: string): Promise<AccessWindowAttributes> {
    const sequelize = this.models.AccessWindow.sequelize!;
    return sequelize.transaction(async (transaction) => {
      const openedAt = new Date(this.now());
      const window = await this.models.AccessWindow.create(
        {
          userId: actor.userId,
          patientRef: study.patientRef,
          studyRef: study.id,
          reason,
          openedAt,
          expiresAt: new Date(openedAt.getTime() + this.windowMs),
        },
        { transaction },
      );
      await this.audit.record(
        {
          eventId: 'SecurityAlert',
          action: 'E',
          outcome: 0,
          userId: actor.userId,
          userRole: actor.role,
          networkAddress: actor.networkAddress ?? null,
          requestId: actor.requestId ?? null,
          objectType: 'EmergencyAccess',
          objectId: window.get('id'),
          patientId: study.patientId || undefined,
          studyUid: study.studyInstanceUid,
          details: {
            event: 'emergency-override-started',
            emergencyAccess: [window.get('id')],
            justification: reason,
            expiresAt: window.get('expiresAt').toISOString(),
          },
        },
        transaction,
      );
      await resendPatientRows(this.models, study.patientRef, transaction);
      return window.get();
    });
  }

  /**
   * Closes the window if it is still open: by its user before expiry ('user'), or after expiry by
   * the sweeper ('expiry', closed as of its expiry time). false when someone else closed it first
   * or its time has run out (for 'user').
   */
  async close(windowId: string, by: 'user' | 'expiry', actor: Actor | null): Promise<boolean> {
    const sequelize = this.models.AccessWindow.sequelize!;
    return sequelize.transaction(async (transaction) => {
      const now = new Date(this.now());
      const window = await this.models.AccessWindow.findByPk(windowId, { transaction, raw: true });
      if (!window || window.closedAt) return false;
      const closedAt = by === 'expiry' ? new Date(window.expiresAt) : now;
      const stillRunning = by === 'user' ? { expiresAt: { [Op.gt]: now } } : { expiresAt: { [Op.lte]: now } };
      const [claimed] = await this.models.AccessWindow.update(
        { closedAt, closedBy: by },
        { where: { id: windowId, closedAt: null, ...stillRunning }, transaction },
      );
      if (claimed !== 1) return false;
      const study = await this.models.Study.findByPk(window.studyRef, {
        attributes: ['id', 'patientRef', 'patientId', 'studyInstanceUid'],
        paranoid: false,
        transaction,
        raw: true,
      });
      await this.audit.record(this.stopEntry(window, study, by, actor), transaction);
      await resendPatientRows(this.models, window.patientRef, transaction);
      return true;
    });
  }

  /** Closes every window past its expiry and records each stop once; how many this call closed. */
  async sweep(log?: FastifyBaseLogger): Promise<number> {
    const due = await this.models.AccessWindow.findAll({
      where: { closedAt: null, expiresAt: { [Op.lte]: new Date(this.now()) } },
      attributes: ['id'],
      limit: 200,
      raw: true,
    });
    let closed = 0;
    for (const { id } of due) {
      try {
        if (await this.close(id, 'expiry', null)) closed += 1;
      } catch (error) {
        log?.warn({ err: error, windowId: id }, 'expired emergency access window not closed yet');
      }
    }
    return closed;
  }
}
