/**
 * The DICOM Modality Worklist: every scheduled order as a worklist item file in the folder
 * Orthanc's worklist plugin answers modalities' C-FIND from, so a CT console fetches the patient
 * (and the Study Instance UID its images will carry) instead of typing them. The folder is kept
 * equal to the database: a sync writes the items of scheduled orders (atomically, by rename) and
 * removes the rest; it runs after every committed change to the worklist or to an order, debounced,
 * and at start-up. Items are UTF-8 (ISO_IR 192) DICOM files written with dcmjs.
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
const DEBOUNCE_MS = 200;

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

  constructor(
    private readonly models: Models,
    private readonly dir: string,
    private readonly log: FastifyBaseLogger,
  ) {}

  /** A sync soon (several changes in a burst share one). */
  schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.sync().catch((error: Error) =>
        this.log.error({ err: { type: error.name, message: error.message } }, 'worklist folder sync failed'),
      );
    }, DEBOUNCE_MS);
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
    await mkdir(this.dir, { recursive: true, mode: 0o750 });
    const orders = await this.models.Order.findAll({ where: { status: 'scheduled', studyRef: { [Op.ne]: null } }, raw: true });
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
    for (const entry of await readdir(this.dir)) {
      if (!entry.endsWith('.wl') || wanted.has(entry)) continue;
      await rm(path.join(this.dir, entry), { force: true });
      this.writtenFrom.delete(entry);
    }
  }
}
