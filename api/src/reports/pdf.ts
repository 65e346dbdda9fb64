/**
 * PDF export with pdfkit and embedded DejaVu fonts (Latin, Greek, Cyrillic, Hebrew, Arabic,
 * Armenian, Georgian and more; from the `dejavu-fonts-ttf` npm package, or PACS_PDF_FONT_DIR), plus
 * fallback fonts for what DejaVu lacks (CJK: Debian's fonts-droid-fallback by default, or
 * PACS_PDF_FALLBACK_FONTS). Text that needs a fallback font or holds right-to-left script goes
 * through pdf-text.ts; the rest through pdfkit's own wrapping. Report text is drawn as text runs,
 * never interpreted: HTML or PDF syntax in a report prints as written.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { formatPersonName, normaliseDicomDate } from '@pacs/shared';
import { FIELD_NODE, fieldText } from '@pacs/shared/report-document';
import PDFDocument from 'pdfkit';
import { DEFAULT_PDF_FALLBACK_FONTS } from '../config';
import { drawKeyImages, type KeyImageThumbnail } from '../measurements/pdf-key-images';
import type { PMNode } from './content';
import { drawParagraph, type FallbackFont, isolate, loadFallbackFont, needsLayout, primaryCoverage, type Run } from './pdf-text';
import { reportMark, SEAL_PLACEHOLDER } from './signature/pdf-seal';

export interface PdfSignature {
  label: string;
  name: string;
  signedAt: Date;
  attestation?: string | null;
}

export interface PdfReportPart {
  title: string;
  doc: PMNode;
  signatures: PdfSignature[];
  hash?: string | null;
  /** The installation's signature of the hash, printed under it. */
  installationSignature?: { keyId: string; value: string } | null;
}

export interface PdfInput {
  /** The report the PDF shows, written into its document information for the seal (signature/pdf-seal.ts). */
  reportId: string;
  institutionName: string;
  logoPath?: string;
  patient: { name: string; id: string; birthDate: string | null; sex: string | null };
  study: {
    description: string;
    date: string | null;
    accession: string;
    modalities: string[];
    referringPhysician: string;
    /** Why the study was ordered; printed under the study block when there is one. */
    indication?: string;
  };
  status: string;
  preliminary: boolean;
  integrityAlarm: boolean;
  report: PdfReportPart;
  addenda: PdfReportPart[];
  /** The critical-result communication record, one line per result; printed after the report when any. */
  criticalCommunication?: string[];
  /** The study's key images, printed as thumbnails after the report (measurements/pdf-key-images.ts). */
  keyImages?: KeyImageThumbnail[];
  generatedAt: Date;
}

interface Fonts {
  regular: Buffer;
  bold: Buffer;
  italic: Buffer;
  boldItalic: Buffer;
  covers: (codePoint: number) => boolean;
}

let cachedFonts: { dir: string; fonts: Fonts } | null = null;
let cachedFallbacks: { key: string; fonts: { name: string; data: Buffer; font: FallbackFont }[] } | null = null;
let cachedLogo: { path: string; data: Buffer | null } | null = null;

export function defaultFontDir(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf');
}

function loadFonts(dir: string): Fonts {
  if (cachedFonts?.dir === dir) return cachedFonts.fonts;
  const read = (name: string) => readFileSync(path.join(dir, name));
  const fonts = {
    regular: read('DejaVuSans.ttf'),
    bold: read('DejaVuSans-Bold.ttf'),
    italic: read('DejaVuSans-Oblique.ttf'),
    boldItalic: read('DejaVuSans-BoldOblique.ttf'),
  };
  const withCoverage = { ...fonts, covers: primaryCoverage(fonts.regular) };
  cachedFonts = { dir, fonts: withCoverage };
  return withCoverage;
}

/** Fallback font files that exist, in order; a missing default is skipped (its glyphs print as boxes). */
function loadFallbacks(paths: string[]) {
  const key = paths.join('\0');
  if (cachedFallbacks?.key !== key) {
    const fonts = paths
      .filter((p) => existsSync(p))
      .map((p, i) => {
        const data = readFileSync(p);
        const name = `fallback${i}`;
        return { name, data, font: loadFallbackFont(name, data) };
      });
    cachedFallbacks = { key, fonts };
  }
  return cachedFallbacks.fonts;
}

function loadLogo(logoPath: string | undefined): Buffer | null {
  if (!logoPath) return null;
  if (cachedLogo?.path !== logoPath) {
    cachedLogo = { path: logoPath, data: existsSync(logoPath) ? readFileSync(logoPath) : null };
  }
  return cachedLogo.data;
}

/**
 * DICOM PN with its ideographic group as well (Japanese and Korean sites fill it):
 * "Yamada^Tarou=山田^太郎" prints as "Yamada, Tarou (山田 太郎)".
 */
function personNameForPrint(pn: string): string {
  const alphabetic = formatPersonName(pn);
  const ideographic = (pn.split('=')[1] ?? '')
    .split('^')
    .map((part) => part.trim())
    .filter(Boolean)
    .join(' ');
  if (!ideographic) return alphabetic;
  return alphabetic ? `${alphabetic} (${ideographic})` : ideographic;
}

const utc = (d: Date) => `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
const dicomDate = (d: string | null) => {
  const n = normaliseDicomDate(d);
  return n ? `${n.slice(0, 4)}-${n.slice(4, 6)}-${n.slice(6, 8)}` : '—';
};

export function renderReportPdf(
  input: PdfInput,
  fontDir: string = defaultFontDir(),
  fallbackFontPaths: string[] = DEFAULT_PDF_FALLBACK_FONTS,
): Promise<Buffer> {
  const fonts = loadFonts(fontDir);
  const fallbacks = loadFallbacks(fallbackFontPaths);
  const doc = new PDFDocument({
    size: 'A4',
    margins: { top: 56, bottom: 64, left: 56, right: 56 },
    bufferPages: true,
    // Archival: PDF/A-2b (fonts embedded, sRGB output intent, XMP identification).
    pdfVersion: '1.7',
    subset: 'PDF/A-2b',
    info: {
      // pdfkit copies the title into the XMP packet unescaped: only characters XML leaves alone.
      Title: `Radiology report ${input.study.accession.replace(/[^A-Za-z0-9 ._/-]/g, '')}`.trim(),
      Producer: 'PACS',
      Creator: 'PACS API',
      ...({ PacsReport: reportMark(input.reportId, input.status), PacsSeal: SEAL_PLACEHOLDER } as object),
    },
  });
  doc.registerFont('r', fonts.regular);
  doc.registerFont('b', fonts.bold);
  doc.registerFont('i', fonts.italic);
  doc.registerFont('bi', fonts.boldItalic);
  for (const f of fallbacks) doc.registerFont(f.name, f.data);
  const fallbackFonts = fallbacks.map((f) => f.font);
  /** Writes runs as one paragraph at (x, doc.y): pdfkit's wrapping for plain text, pdf-text.ts otherwise. */
  const write = (runs: Run[], x: number, w: number) => {
    if (runs.some((r) => needsLayout(r.text, fonts.covers))) {
      drawParagraph(doc, runs, x, w, fonts.covers, fallbackFonts);
      return;
    }
    runs.forEach((run, i) => {
      const last = i === runs.length - 1;
      doc.font(run.font);
      if (i === 0) doc.text(run.text, x, doc.y, { width: w, continued: !last });
      else doc.text(run.text, { continued: !last });
    });
  };
  const chunks: Buffer[] = [];
  doc.on('data', (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });

  const left = doc.page.margins.left;
  const width = doc.page.width - doc.page.margins.left - doc.page.margins.right;

  // Header
  const logo = loadLogo(input.logoPath);
  let headerTop = doc.y;
  if (logo) {
    try {
      doc.image(logo, left, headerTop, { fit: [120, 40] });
    } catch {
      // an unreadable logo must not stop the export
    }
  }
  doc.fontSize(15).fillColor('#000');
  doc.y = headerTop;
  write([{ text: input.institutionName, font: 'b' }], left + (logo ? 130 : 0), width - (logo ? 130 : 0));
  doc
    .font('r')
    .fontSize(10)
    .fillColor('#444')
    .text('Radiology report', { width: width - (logo ? 130 : 0) });
  headerTop = Math.max(doc.y, headerTop + (logo ? 44 : 0)) + 6;
  doc
    .moveTo(left, headerTop)
    .lineTo(left + width, headerTop)
    .lineWidth(1)
    .strokeColor('#888')
    .stroke();
  doc.y = headerTop + 8;

  if (input.integrityAlarm) {
    doc
      .font('b')
      .fontSize(11)
      .fillColor('#b00000')
      .text('INTEGRITY CHECK FAILED: the stored report does not match its signature. Do not rely on this copy.', left, doc.y, {
        width,
      });
    doc.moveDown(0.5);
  }

  // Patient and study block (two columns)
  const rows: [string, string, string, string][] = [
    ['Patient', personNameForPrint(input.patient.name) || '—', 'Study', input.study.description || '—'],
    ['Patient ID', input.patient.id || '—', 'Study date', dicomDate(input.study.date)],
    ['Birth date', dicomDate(input.patient.birthDate), 'Accession', input.study.accession || '—'],
    ['Sex', input.patient.sex || '—', 'Modality', input.study.modalities.join(', ') || '—'],
    ['Status', input.status, 'Referring', personNameForPrint(input.study.referringPhysician) || '—'],
  ];
  doc.fillColor('#000').fontSize(9);
  const col = width / 2;
  for (const [k1, v1, k2, v2] of rows) {
    const y = doc.y;
    doc.font('b').text(`${k1}:`, left, y, { width: 70 });
    doc.y = y;
    write([{ text: v1, font: 'r' }], left + 72, col - 76);
    const y1 = doc.y;
    doc.font('b').text(`${k2}:`, left + col, y, { width: 70 });
    doc.y = y;
    write([{ text: v2, font: 'r' }], left + col + 72, col - 72);
    doc.y = Math.max(y1, doc.y) + 1;
  }
  if (input.study.indication) {
    const y = doc.y;
    doc.font('b').text('Indication:', left, y, { width: 70 });
    doc.y = y;
    write([{ text: input.study.indication, font: 'r' }], left + 72, width - 72);
  }
  doc.moveDown(0.6);
  doc
    .moveTo(left, doc.y)
    .lineTo(left + width, doc.y)
    .lineWidth(0.5)
    .strokeColor('#bbb')
    .stroke();
  doc.moveDown(0.6);

  const part = (p: PdfReportPart, isAddendum: boolean) => {
    if (isAddendum) {
      doc.moveDown(0.8);
      doc.fontSize(13).fillColor('#000');
      write([{ text: p.title, font: 'b' }], left, width);
      doc.moveDown(0.3);
    }
    for (const node of p.doc.content ?? []) block(node, 0);
    doc.moveDown(0.6);
    for (const s of p.signatures) {
      doc.fontSize(9).fillColor('#000');
      write(
        [
          { text: `${s.label}: `, font: 'b' },
          { text: `${isolate(s.name)}, ${utc(s.signedAt)}`, font: 'r' },
        ],
        left,
        width,
      );
      if (s.attestation) doc.font('i').fontSize(8.5).fillColor('#333').text(s.attestation, left, doc.y, { width });
    }
    if (p.hash) doc.font('r').fontSize(7).fillColor('#666').text(`Content SHA-256: ${p.hash}`, left, doc.y, { width });
    if (p.installationSignature) {
      const { keyId, value } = p.installationSignature;
      doc.font('r').fontSize(7).fillColor('#666').text(`Ed25519 signature (key ${keyId}): ${value}`, left, doc.y, { width });
    }
    doc.fillColor('#000');
  };

  const fontFor = (marks: PMNode['marks']) => {
    const bold = marks?.some((m) => m.type === 'bold') ?? false;
    const italic = marks?.some((m) => m.type === 'italic') ?? false;
    return bold && italic ? 'bi' : bold ? 'b' : italic ? 'i' : 'r';
  };

  const inline = (node: PMNode, x: number, w: number, baseFont?: string) => {
    const runs: { text: string; font: string }[] = [];
    const walk = (n: PMNode) => {
      if (n.type === 'text') runs.push({ text: n.text ?? '', font: baseFont ?? fontFor(n.marks) });
      else if (n.type === 'hardBreak') runs.push({ text: '\n', font: 'r' });
      else if (n.type === FIELD_NODE) runs.push({ text: fieldText(n), font: baseFont ?? 'r' });
      else for (const c of n.content ?? []) walk(c);
    };
    walk(node);
    if (runs.length === 0) {
      doc.font('r').text(' ', x, doc.y, { width: w });
      return;
    }
    write(runs, x, w);
  };

  const block = (node: PMNode, depth: number) => {
    const x = left + depth * 16;
    const w = width - depth * 16;
    switch (node.type) {
      case 'heading': {
        const level = Number(node.attrs?.level ?? 2);
        doc.moveDown(0.4);
        doc.fontSize(level <= 2 ? 12 : 11).fillColor('#000');
        inline(node, x, w, 'b');
        doc.moveDown(0.15);
        doc.fontSize(10);
        return;
      }
      case 'paragraph':
        doc.fontSize(10).fillColor('#000');
        inline(node, x, w);
        doc.moveDown(0.25);
        return;
      case 'bulletList':
      case 'orderedList': {
        const start = Number(node.attrs?.start ?? 1);
        (node.content ?? []).forEach((item, i) => {
          const marker = node.type === 'bulletList' ? '•' : `${start + i}.`;
          const y = doc.y;
          doc.font('r').fontSize(10).text(marker, x, y, { width: 16 });
          doc.y = y;
          for (const child of item.content ?? []) block(child, depth + 1);
        });
        return;
      }
      case 'listItem':
        for (const child of node.content ?? []) block(child, depth + 1);
        return;
      case 'horizontalRule':
        doc
          .moveTo(x, doc.y)
          .lineTo(x + w, doc.y)
          .lineWidth(0.5)
          .strokeColor('#bbb')
          .stroke();
        doc.moveDown(0.3);
        return;
      default:
        // blockquote, codeBlock and anything unknown: its text, plainly
        if (node.content?.some((c) => c.type === 'text')) {
          doc.fontSize(10);
          inline(node, x, w);
          doc.moveDown(0.25);
        } else for (const child of node.content ?? []) block(child, depth);
    }
  };

  part(input.report, false);
  for (const addendum of input.addenda) part(addendum, true);
  drawKeyImages(doc, input.keyImages ?? [], left, width);
  if (input.criticalCommunication?.length) {
    doc.moveDown(0.8);
    doc.fontSize(12).fillColor('#a00000');
    write([{ text: 'Critical result communication', font: 'b' }], left, width);
    doc.moveDown(0.2);
    doc.fontSize(9.5).fillColor('#000');
    for (const line of input.criticalCommunication) {
      write([{ text: line, font: 'r' }], left, width);
      doc.moveDown(0.2);
    }
  }

  // Page numbers and the watermark on every page.
  const range = doc.bufferedPageRange();
  for (let i = range.start; i < range.start + range.count; i += 1) {
    doc.switchToPage(i);
    const bottom = doc.page.margins.bottom;
    doc.page.margins.bottom = 0;
    if (input.preliminary) {
      doc.save();
      doc.rotate(-45, { origin: [doc.page.width / 2, doc.page.height / 2] });
      doc
        .font('b')
        .fontSize(80)
        .fillColor('#c00000')
        .fillOpacity(0.18)
        .text('PRELIMINARY', 0, doc.page.height / 2 - 45, { width: doc.page.width, align: 'center', lineBreak: false });
      doc.restore();
      doc.fillOpacity(1);
    }
    doc
      .font('r')
      .fontSize(8)
      .fillColor('#555')
      .text(
        `${input.study.accession ? `Accession ${input.study.accession} · ` : ''}${input.preliminary ? 'PRELIMINARY · ' : ''}Rendered ${utc(input.generatedAt)} · Page ${i - range.start + 1} of ${range.count}`,
        left,
        doc.page.height - 40,
        { width, align: 'center', lineBreak: false },
      );
    doc.page.margins.bottom = bottom;
  }
  doc.end();
  return done;
}
