/**
 * Report PDFs with non-Latin text: CJK glyphs come from the fallback fonts (embedded, extractable),
 * right-to-left words are put in visual order, and a right-to-left name cannot pull the date next
 * to it out of place.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { PMNode } from '../src/reports/content';
import { type PdfInput, renderReportPdf } from '../src/reports/pdf';
import { baseDirection, breakLines, isolate, type Token, tokenize, visualOrder } from '../src/reports/pdf-text';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'pacs-pdf-text-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const word = (text: string): Token => ({ text, font: 'r', space: false });
const space: Token = { text: ' ', font: 'r', space: true };
const texts = (tokens: Token[]) => tokens.map((t) => t.text);
const latinOnly = (cp: number) => cp < 0x250;

describe('bidi order of tokens', () => {
  it('keeps a left-to-right line as written', () => {
    const line = [word('Normal'), space, word('chest.')];
    expect(texts(visualOrder(line, 'ltr'))).toEqual(['Normal', ' ', 'chest.']);
  });

  it('reverses the words of a Hebrew phrase inside an English line, not the English around it', () => {
    const line = [word('Patient'), space, word('שלום'), space, word('עולם'), space, word('ok')];
    expect(texts(visualOrder(line, 'ltr'))).toEqual(['Patient', ' ', 'עולם', ' ', 'שלום', ' ', 'ok']);
  });

  it('lays a right-to-left paragraph out from the right, keeping numbers left to right', () => {
    const text = 'גודל 12 מ"מ';
    expect(baseDirection(text)).toBe('rtl');
    const line = [word('גודל'), space, word('12'), space, word('מ"מ')];
    expect(texts(visualOrder(line, 'rtl'))).toEqual(['מ"מ', ' ', '12', ' ', 'גודל']);
  });

  it('isolates a right-to-left name so the date after it stays after it', () => {
    const tokens = tokenize([{ text: `Signed: ${isolate('ד"ר כהן')}, 2026-11-28 08:47 UTC`, font: 'r' }], latinOnly, []);
    const visible = texts(visualOrder(tokens, 'ltr').filter((t) => !t.control && !t.space));
    expect(visible).toEqual(['Signed:', 'כהן', 'ד"ר', ',', '2026-11-28', '08:47', 'UTC']);
    expect(isolate('Smith')).toBe('Smith');
  });
});

describe('tokens and lines', () => {
  it('gives each CJK character its own token and the fallback font that has it', () => {
    const fallback = { name: 'cjk', covers: (cp: number) => cp >= 0x3000 };
    const tokens = tokenize([{ text: 'CT 山田太郎', font: 'b' }], latinOnly, [fallback]);
    expect(tokens.map((t) => [t.text, t.font])).toEqual([
      ['CT', 'b'],
      [' ', 'b'],
      ['山', 'cjk'],
      ['田', 'cjk'],
      ['太', 'cjk'],
      ['郎', 'cjk'],
    ]);
  });

  it('breaks lines at token boundaries within the width and drops spaces at line ends', () => {
    const tokens = tokenize([{ text: 'aaaa bbbb cccc dddd', font: 'r' }], latinOnly, []);
    const lines = breakLines(tokens, 10, (t) => t.text.length);
    expect(lines.map((l) => texts(l).join(''))).toEqual(['aaaa bbbb', 'cccc dddd']);
  });
});

describe('PDF with Chinese, Japanese, Korean, Hebrew and Arabic text', () => {
  const para = (text: string): PMNode => ({ type: 'paragraph', content: [{ type: 'text', text }] });
  const input: PdfInput = {
    reportId: '5f0c8a52-8d2b-4f4e-9a51-0c3f7f6f2a11',
    institutionName: 'מרכז רפואי',
    patient: { name: 'Yamada^Tarou=山田^太郎', id: 'P-CJK-1', birthDate: '19700101', sex: 'M' },
    study: {
      description: 'CT 胸部',
      date: '20260101',
      accession: 'ACC-I18N',
      modalities: ['CT'],
      referringPhysician: 'כהן^דוד',
      indication: '咳嗽が3週間続く',
    },
    status: 'final',
    preliminary: false,
    integrityAlarm: false,
    report: {
      title: 'Report',
      doc: {
        type: 'doc',
        content: [
          { type: 'heading', attrs: { level: 2 }, content: [{ type: 'text', text: 'Findings' }] },
          para('所見：肺野に異常陰影なし。'),
          para('김철수 환자의 흉부 소견: 정상'),
          para('الرئتان سليمتان'),
          para('אין עדות לתסחיף ריאתי'),
        ],
      },
      signatures: [{ label: 'Signed', name: 'ד"ר כהן', signedAt: new Date('2026-11-28T08:47:00Z') }],
    },
    addenda: [],
    generatedAt: new Date('2026-11-28T09:00:00Z'),
  };

  it('embeds the fallback fonts and prints every script as extractable text', async () => {
    const file = path.join(tmp, 'i18n.pdf');
    writeFileSync(file, await renderReportPdf(input));
    const fonts = execFileSync('pdffonts', [file], { encoding: 'utf8' });
    expect(fonts).toMatch(/DroidSansFallback/);
    expect(fonts).toMatch(/DejaVuSans/);
    // pdftotext marks right-to-left runs with embedding controls; the words themselves must be there.
    const text = execFileSync('pdftotext', [file, '-'], { encoding: 'utf8' }).replace(/[\u202a-\u202e]/g, '');
    for (const expected of [
      '山田',
      '所見',
      '肺野に異常陰影なし',
      '김철수',
      '정상',
      'תסחיף',
      'כהן',
      'ACC-I18N',
      'Indication:',
      '咳嗽が3週間続く',
    ]) {
      expect(text).toContain(expected);
    }
    expect(text).toMatch(/سليمتان/);
  });

  it('without fallback fonts still renders (CJK as empty boxes), never fails', async () => {
    const pdf = await renderReportPdf(input, undefined, [path.join(tmp, 'no-such-font.ttf')]);
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    const file = path.join(tmp, 'no-fallback.pdf');
    writeFileSync(file, pdf);
    expect(execFileSync('pdffonts', [file], { encoding: 'utf8' })).not.toMatch(/DroidSansFallback/);
  });
});
