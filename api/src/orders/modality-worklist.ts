/**
 * The DICOM Modality Worklist: every scheduled order as a worklist item file in the folder
 * Orthanc's worklist plugin answers modalities' C-FIND from, so a CT console fetches the patient
 * (and the Study Instance UID its images will carry) instead of typing them. The folder is kept
 * equal to the database: a sync writes the items of scheduled orders (atomically, by rename) and
 * removes the rest; it runs after every committed change to the worklist or to an order, debounced,
 * and at start-up. A sync looks only at what changed since the last one (the worklist's change
 * numbers, orders' update times); a full pass runs at start-up and every minute. Items are UTF-8
 * (ISO_IR 192) DICOM files written with dcmjs.
 */

import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import { Op } from 'sequelize';
import type { Models, StudyAttributes } from '../db/models';
import type { OrderAttributes } from '../db/order-models';
import { da, tm, writePart10 } from '../dicom/part10';

/** Modality Worklist Information Model – FIND, the SOP class a worklist item answers. */
const MWL_FIND = '1.2.840.10008.5.1.4.31';
/** A sync follows a change this soon (a modality may query as soon as the order is in)… */
const DEBOUNCE_MS = 25;
/** …but passes start at most this often while orders stream in, so they do not slow the intake. */
const BUSY_INTERVAL_MS = 50;
/** A full pass (every item checked, strays removed) at least this often; other passes look at changes only. */
const FULL_PASS_MS = 60_000;
/** Orders updated this long before the last pass are looked at again: a transaction may commit after it read its clock. */
const CLOCK_MARGIN_MS = 5_000;

const DICOM_PRIORITY = { stat: 'STAT', urgent: 'HIGH', routine: 'ROUTINE' } as const;

/** One scheduled order as a worklist item (Part 10 bytes). */
export function worklistItem(order: OrderAttributes, study: StudyAttributes, issuer: string): Buffer {
  const when = order.scheduledAt ? new Date(order.scheduledAt) : new Date(order.createdAt);
  const step: Record<string, unknown> = {
    Modality: order.modality || undefined,
    ScheduledStationAETitle: order.scheduledStationAet || undefined,
    ScheduledProcedureStepStartDate: da(when),
    ScheduledProcedureStepStartTime: tm(when),
    ScheduledProcedureStepDescription: order.procedureText || undefined,
    ScheduledProcedureStepID: order.placerOrderNumber.slice(0, 16),
  };
  const dataset: Record<string, unknown> = {
    SpecificCharacterSet: 'ISO_IR 192',
    AccessionNumber: order.accessionNumber,
    ReferringPhysicianName: order.referringPhysician || undefined,
    PatientName: study.patientName,
    PatientID: study.patientId,
    IssuerOfPatientID: issuer || undefined,
    PatientBirthDate: study.patientBirthDate ?? undefined,
    PatientSex: study.patientSex ?? undefined,
    StudyInstanceUID: study.studyInstanceUid,
    RequestingPhysician: order.orderingPhysician || undefined,
    RequestedProcedureDescription: order.procedureText || undefined,
    RequestedProcedureID: order.placerOrderNumber.slice(0, 16),
    RequestedProcedurePriority: DICOM_PRIORITY[order.priority],
    ReasonForTheRequestedProcedure: order.reasonForExam || undefined,
    ScheduledProcedureStepSequence: [step],
  };
  return writePart10(MWL_FIND, study.studyInstanceUid, dataset);
}

export class ModalityWorklistFolder {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private dirty = false;
  /** What each item file was last written from (order and row versions): unchanged items are not rewritten. */
  private readonly writtenFrom = new Map<string, string>();
  /** The worklist's change number the last pass saw (null: no pass yet). */
  private lastChangeSeq: number | null = null;
  private lastOrderPassAt: Date | null = null;
  private lastFullPassAt = 0;
  private lastPassStartedAt = 0;

  constructor(
    private readonly models: Models,
    private readonly dir: string,
    private readonly log: FastifyBaseLogger,
  ) {}

  /** A sync soon (several changes in a burst share one). */
  schedule(): void {
    if (this.timer) return;
    const delay = Math.max(DEBOUNCE_MS, this.lastPassStartedAt + BUSY_INTERVAL_MS - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.sync().catch((error: Error) =>
        this.log.error({ err: { type: error.name, message: error.message } }, 'worklist folder sync failed'),
      );
    }, delay);
    this.timer.unref();
  }

  /**
   * Makes the folder hold exactly the items of scheduled orders. One pass runs at a time; a call
   * while one runs is served by another pass after it (so it sees every change committed before
   * the call), and calls that arrive together share that pass.
   */
  sync(): Promise<void> {
    this.dirty = true;
    this.running ??= this.passes().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async passes(): Promise<void> {
    while (this.dirty) {
      this.dirty = false;
      await this.syncNow();
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  private async syncNow(): Promise<void> {
    this.lastPassStartedAt = Date.now();
    await mkdir(this.dir, { recursive: true, mode: 0o750 });
    const full = this.lastChangeSeq === null || Date.now() - this.lastFullPassAt >= FULL_PASS_MS;
    if (full) await this.fullPass();
    else await this.changedPass();
  }

  /** Every scheduled order's item written, every other item removed. */
  private async fullPass(): Promise<void> {
    this.lastFullPassAt = Date.now();
    const startedSeq = await this.currentChangeSeq();
    const orders = await this.models.Order.findAll({ where: { status: 'scheduled', studyRef: { [Op.ne]: null } }, raw: true });
    const wanted = await this.write(orders);
    for (const entry of await readdir(this.dir)) {
      if (!entry.endsWith('.wl') || wanted.has(entry)) continue;
      await rm(path.join(this.dir, entry), { force: true });
      this.writtenFrom.delete(entry);
    }
    this.lastChangeSeq = startedSeq;
    this.lastOrderPassAt = new Date(this.lastFullPassAt);
  }

  /**
   * Only what changed since the last pass: orders of worklist rows whose change number advanced
   * (every write to a row takes one), and orders updated since (with a margin for transactions
   * that committed late). A full pass now and then catches anything else.
   */
  private async changedPass(): Promise<void> {
    const since = this.lastChangeSeq ?? 0;
    const ordersSince = new Date((this.lastOrderPassAt?.getTime() ?? 0) - CLOCK_MARGIN_MS);
    const startedAt = new Date();
    const rows = await this.models.Study.findAll({
      where: { changeSeq: { [Op.gt]: since } },
      attributes: ['orderRef', 'changeSeq'],
      paranoid: false,
      raw: true,
    });
    // Holds, releases and changes of an order need not touch its worklist row.
    const touched = await this.models.Order.findAll({ where: { updatedAt: { [Op.gte]: ordersSince } }, attributes: ['id'], raw: true });
    const ids = new Set([...rows.flatMap((r) => (r.orderRef ? [r.orderRef] : [])), ...touched.map((o) => o.id)]);
    const orders = ids.size > 0 ? await this.models.Order.findAll({ where: { id: { [Op.in]: [...ids] } }, raw: true }) : [];
    const wanted = await this.write(orders.filter((o) => o.status === 'scheduled' && o.studyRef !== null));
    for (const order of orders) {
      const name = `${order.id}.wl`;
      if (wanted.has(name)) continue;
      await rm(path.join(this.dir, name), { force: true });
      this.writtenFrom.delete(name);
    }
    this.lastChangeSeq = rows.reduce((max, r) => Math.max(max, Number(r.changeSeq)), since);
    this.lastOrderPassAt = startedAt;
  }

  private async currentChangeSeq(): Promise<number> {
    return Number((await this.models.Study.max('changeSeq', { paranoid: false })) ?? 0);
  }

  /** Writes the items of these orders whose row is still scheduled; answers the file names that should exist. */
  private async write(orders: OrderAttributes[]): Promise<Set<string>> {
    const studies = new Map(
      (await this.models.Study.findAll({ where: { id: { [Op.in]: orders.map((o) => o.studyRef!) }, status: 'scheduled' }, raw: true })).map(
        (s) => [s.id, s],
      ),
    );
    const patients = new Map(
      (await this.models.Patient.findAll({ where: { id: { [Op.in]: [...new Set(orders.map((o) => o.patientRef))] } }, raw: true })).map(
        (p) => [p.id, p],
      ),
    );
    const wanted = new Set<string>();
    for (const order of orders) {
      const study = studies.get(order.studyRef!);
      if (!study) continue;
      const name = `${order.id}.wl`;
      wanted.add(name);
      const from = `${order.version}:${study.version}:${study.changeSeq}`;
      if (this.writtenFrom.get(name) === from) continue;
      const file = path.join(this.dir, name);
      const partial = `${file}.${process.pid}.tmp`;
      await writeFile(partial, worklistItem(order, study, patients.get(order.patientRef)?.issuerOfPatientId ?? ''), { mode: 0o640 });
      await rename(partial, file);
      this.writtenFrom.set(name, from);
    }
    return wanted;
  }
}
