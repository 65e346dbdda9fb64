/**
 * Key images in the report's PDF: small previews Orthanc renders (`/instances/{id}/frames/{n}/preview`,
 * PNG), fetched when the PDF is drawn, and drawn as a grid of captioned thumbnails after the report.
 * An image Orthanc cannot render prints as its caption with a note, never stopping the export.
 */
import type { Models } from '../db/models';
import type { OrthancClient } from '../ingest/orthanc-client';
import { placesOf } from './measurement-store';

export interface KeyImageThumbnail {
  /** "Series 3 image 42" (", frame 5"). */
  caption: string;
  note: string;
  /** PNG or JPEG bytes; null when the archive could not render it. */
  image: Buffer | null;
}

/** Where the PDF export gets a study's key images (reports/pdf-export.ts asks; tests may answer). */
export interface KeyImageSource {
  forStudy(studyId: string): Promise<KeyImageThumbnail[]>;
}

/** More would make the PDF a picture book; the report page lists them all. */
export const MAX_PDF_KEY_IMAGES = 12;
/** A preview larger than this is not a thumbnail (Orthanc's previews of large images are ~100 KB). */
const MAX_PREVIEW_BYTES = 4 * 1024 * 1024;
const PREVIEW_TIMEOUT_MS = 10_000;

export class KeyImageThumbnails implements KeyImageSource {
  constructor(
    private readonly models: Models,
    private readonly orthanc: Pick<OrthancClient, 'fetch'> | null,
  ) {}

  async forStudy(studyId: string): Promise<KeyImageThumbnail[]> {
    const rows = await this.models.KeyImage.findAll({
      where: { studyRef: studyId },
      order: [
        ['createdAt', 'ASC'],
        ['id', 'ASC'],
      ],
      limit: MAX_PDF_KEY_IMAGES,
      raw: true,
    });
    if (rows.length === 0) return [];
    const place = await placesOf(this.models, studyId, rows);
    const instances = await this.models.Instance.findAll({
      where: { sopInstanceUid: rows.map((r) => r.sopInstanceUid) },
      attributes: ['sopInstanceUid', 'orthancId'],
      raw: true,
    });
    const orthancIds = new Map(instances.map((i) => [i.sopInstanceUid, i.orthancId]));
    return Promise.all(
      rows.map(async (row) => {
        const { seriesNumber, instanceNumber } = place(row);
        const caption = `Series ${seriesNumber ?? '?'} image ${instanceNumber ?? '?'}${row.frame > 1 ? `, frame ${row.frame}` : ''}`;
        return { caption, note: row.note, image: await this.preview(orthancIds.get(row.sopInstanceUid) ?? null, row.frame) };
      }),
    );
  }

  private async preview(orthancId: string | null, frame: number): Promise<Buffer | null> {
    if (!this.orthanc || !orthancId || !/^[0-9a-f-]+$/.test(orthancId)) return null;
    try {
      const response = await this.orthanc.fetch(
        `/instances/${orthancId}/frames/${frame - 1}/preview`,
        { headers: { accept: 'image/png' } },
        PREVIEW_TIMEOUT_MS,
      );
      if (!response.ok) return null;
      const body = Buffer.from(await response.arrayBuffer());
      return body.length > 0 && body.length <= MAX_PREVIEW_BYTES ? body : null;
    } catch {
      return null;
    }
  }
}

/** The drawing surface the report PDF hands over (pdfkit's document, only what is used here). */
export interface PdfCanvas {
  y: number;
  page: { height: number; margins: { bottom: number } };
  addPage(): unknown;
  moveDown(lines?: number): unknown;
  font(name: string): PdfCanvas;
  fontSize(size: number): PdfCanvas;
  fillColor(color: string): PdfCanvas;
  text(text: string, x?: number, y?: number, options?: Record<string, unknown>): PdfCanvas;
  image(src: Buffer, x?: number, y?: number, options?: Record<string, unknown>): PdfCanvas;
  rect(x: number, y: number, w: number, h: number): PdfCanvas;
  lineWidth(w: number): PdfCanvas;
  strokeColor(color: string): PdfCanvas;
  stroke(): PdfCanvas;
}

const PER_ROW = 4;
const GAP = 8;
const CAPTION = 22;

/** Draws "Key images" and the thumbnails, four to a row, after what the page holds. */
export function drawKeyImages(doc: PdfCanvas, thumbnails: readonly KeyImageThumbnail[], left: number, width: number): void {
  if (thumbnails.length === 0) return;
  const size = (width - GAP * (PER_ROW - 1)) / PER_ROW;
  const bottom = () => doc.page.height - doc.page.margins.bottom;
  doc.moveDown(0.8);
  if (doc.y + 20 + size + CAPTION > bottom()) doc.addPage();
  doc.font('b').fontSize(12).fillColor('#000').text('Key images', left, doc.y, { width });
  doc.moveDown(0.3);
  for (let i = 0; i < thumbnails.length; i += PER_ROW) {
    if (doc.y + size + CAPTION > bottom()) doc.addPage();
    const top = doc.y;
    thumbnails.slice(i, i + PER_ROW).forEach((thumbnail, j) => {
      const x = left + j * (size + GAP);
      doc.rect(x, top, size, size).lineWidth(0.5).strokeColor('#999').stroke();
      let drawn = false;
      if (thumbnail.image) {
        try {
          doc.image(thumbnail.image, x, top, { fit: [size, size], align: 'center', valign: 'center' });
          drawn = true;
        } catch {
          // not an image pdfkit reads: the caption says so below
        }
      }
      if (!drawn)
        doc
          .font('i')
          .fontSize(8)
          .fillColor('#666')
          .text('image unavailable', x, top + size / 2 - 5, { width: size, align: 'center' });
      const caption = thumbnail.note ? `${thumbnail.caption} — ${thumbnail.note}` : thumbnail.caption;
      doc
        .font('r')
        .fontSize(8)
        .fillColor('#000')
        .text(caption, x, top + size + 2, { width: size, height: CAPTION - 2, ellipsis: true });
    });
    doc.y = top + size + CAPTION;
  }
}
