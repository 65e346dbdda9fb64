/**
 * Exports a study's measurements (DICOM SR, TID 1500) and key images (Key Object Selection) into
 * Orthanc, filed in the study, through Orthanc's REST API as the archived report PDF is. Only images
 * the archive lists are referenced (the SOP class comes from their instance rows). Ingestion counts
 * SR and KO series as documents, never as new images.
 */
import { Op } from 'sequelize';
import type { Models } from '../db/models';
import { HttpError } from '../http-errors';
import { type OrthancClient, OrthancUnavailable } from '../ingest/orthanc-client';
import { type DicomDocument, type DocumentStudy, keyObjectSelection, measurementReport, type ReferencedImage } from './dicom-documents';

export interface Exported {
  sopInstanceUid: string;
  seriesInstanceUid: string;
  items: number;
}

export class DicomExport {
  constructor(
    private readonly models: Models,
    private readonly orthanc: Pick<OrthancClient, 'fetch'> | null,
    private readonly institutionName: string,
  ) {}

  async measurements(studyId: string, observerName: string): Promise<Exported> {
    const input = await this.studyInput(studyId);
    const rows = await this.models.Measurement.findAll({
      where: { studyRef: studyId, deletedAt: null },
      order: [
        ['createdAt', 'ASC'],
        ['id', 'ASC'],
      ],
      raw: true,
    });
    const classes = await this.sopClasses(rows.map((r) => r.sopInstanceUid));
    const authors = new Map(
      (
        await this.models.User.findAll({ where: { id: [...new Set(rows.map((r) => r.authorId))] }, attributes: ['id', 'name'], raw: true })
      ).map((u) => [u.id, u.name]),
    );
    const measurements = rows
      .filter((r) => classes.has(r.sopInstanceUid))
      .map((r) => ({
        id: r.id,
        tool: r.tool,
        label: r.label,
        seriesInstanceUid: r.seriesInstanceUid,
        sopInstanceUid: r.sopInstanceUid,
        sopClassUid: classes.get(r.sopInstanceUid)!,
        frame: r.frame,
        points: JSON.parse(r.points) as number[][],
        values: JSON.parse(r.measuredValues),
        units: JSON.parse(r.units),
        authorName: authors.get(r.authorId) ?? '',
      }));
    if (measurements.length === 0)
      throw new HttpError(409, 'the study has no measurements on images the archive holds', 'NOTHING_TO_EXPORT');
    return this.store(measurementReport(input, measurements, observerName), measurements.length);
  }

  async keyImages(studyId: string): Promise<Exported> {
    const input = await this.studyInput(studyId);
    const rows = await this.models.KeyImage.findAll({
      where: { studyRef: studyId },
      order: [
        ['createdAt', 'ASC'],
        ['id', 'ASC'],
      ],
      raw: true,
    });
    const classes = await this.sopClasses(rows.map((r) => r.sopInstanceUid));
    const images: (ReferencedImage & { note: string })[] = rows
      .filter((r) => classes.has(r.sopInstanceUid))
      .map((r) => ({ ...r, sopClassUid: classes.get(r.sopInstanceUid)! }))
      .map(({ seriesInstanceUid, sopInstanceUid, sopClassUid, frame, note }) => ({
        seriesInstanceUid,
        sopInstanceUid,
        sopClassUid,
        frame,
        note,
      }));
    if (images.length === 0) throw new HttpError(409, 'the study has no key images the archive holds', 'NOTHING_TO_EXPORT');
    return this.store(keyObjectSelection(input, images), images.length);
  }

  private async studyInput(studyId: string): Promise<DocumentStudy> {
    if (!this.orthanc) throw new HttpError(503, 'Orthanc is not configured', 'ORTHANC_NOT_CONFIGURED');
    const study = await this.models.Study.findByPk(studyId, { raw: true });
    if (!study) throw new HttpError(404, 'study not found', 'NOT_FOUND');
    return { study, institutionName: this.institutionName, createdAt: new Date() };
  }

  /** SOP classes of the archive's instances: ingestion leaves them empty, so Orthanc's metadata tells. */
  private async sopClasses(sopInstanceUids: string[]): Promise<Map<string, string>> {
    if (sopInstanceUids.length === 0) return new Map();
    const instances = await this.models.Instance.findAll({
      where: { sopInstanceUid: { [Op.in]: [...new Set(sopInstanceUids)] } },
      attributes: ['sopInstanceUid', 'sopClassUid', 'orthancId'],
      raw: true,
    });
    const classes = new Map<string, string>();
    for (const instance of instances) {
      const known = instance.sopClassUid || (instance.orthancId ? await this.orthancSopClass(instance.orthancId) : '');
      if (known) classes.set(instance.sopInstanceUid, known);
    }
    return classes;
  }

  private async orthancSopClass(orthancId: string): Promise<string> {
    if (!/^[0-9a-f-]+$/.test(orthancId)) return '';
    try {
      const response = await this.orthanc!.fetch(`/instances/${orthancId}/metadata/SopClassUid`, { headers: { accept: 'text/plain' } });
      const text = response.ok ? (await response.text()).trim() : '';
      return /^[0-9]+(\.[0-9]+)*$/.test(text) && text.length <= 64 ? text : '';
    } catch (error) {
      if (error instanceof OrthancUnavailable) throw new HttpError(502, 'image archive unreachable', 'ORTHANC_UNREACHABLE');
      throw error;
    }
  }

  private async store(document: DicomDocument, items: number): Promise<Exported> {
    let response: Response;
    try {
      response = await this.orthanc!.fetch('/instances', {
        method: 'POST',
        body: document.file,
        headers: { 'content-type': 'application/dicom', accept: 'application/json' },
      });
    } catch (error) {
      if (error instanceof OrthancUnavailable) throw new HttpError(502, 'image archive unreachable', 'ORTHANC_UNREACHABLE');
      throw error;
    }
    const answer = (await response.json().catch(() => ({}))) as { Status?: unknown };
    if (!response.ok || (answer.Status !== 'Success' && answer.Status !== 'AlreadyStored'))
      throw new HttpError(502, `the image archive did not store the document (HTTP ${response.status})`, 'ORTHANC_UNREACHABLE');
    return { sopInstanceUid: document.sopInstanceUid, seriesInstanceUid: document.seriesInstanceUid, items };
  }
}
