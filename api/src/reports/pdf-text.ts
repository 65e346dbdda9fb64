/**
 * Text layout for the PDF beyond what pdfkit does by itself: glyph fallback (DejaVu has no CJK, so
 * a Japanese or Korean patient name would print as empty boxes) and right-to-left text (pdfkit lays
 * out word by word from the left, so a Hebrew or Arabic phrase came out with its words in reverse).
 *
 * Text is split into tokens (words, spaces, single CJK characters), each with the font that has its
 * glyphs; lines are broken greedily by measured width; each line's tokens are put in visual order
 * with the Unicode Bidirectional Algorithm (bidi-js, rule L2 applied to whole tokens). Inside a token
 * fontkit already shapes right-to-left scripts and reverses their glyphs, so tokens are never
 * reversed here. Text is only ever measured and drawn: nothing in it is interpreted.
 */
import bidiFactory from 'bidi-js';
import * as fontkit from 'fontkit';

export interface FallbackFont {
  /** pdfkit font name the caller registered for this file. */
  name: string;
  covers(codePoint: number): boolean;
}

export interface Run {
  text: string;
  /** pdfkit font name (regular, bold…) chosen by the caller's formatting. */
  font: string;
}

export interface Token {
  text: string;
  font: string;
  /** Whitespace: a break opportunity, dropped at line ends. */
  space: boolean;
  /** Bidi formatting characters (isolates, marks): they steer the order but are not drawn. */
  control?: boolean;
}

/** The part of pdfkit's document this module uses (kept narrow so the layout is testable). */
export interface TextSurface {
  font(name: string): this;
  widthOfString(text: string): number;
  currentLineHeight(includeGap?: boolean): number;
  text(text: string, x: number, y: number, options: { lineBreak: false }): this;
  addPage(): this;
  x: number;
  y: number;
  page: { height: number; margins: { top: number; bottom: number } };
}

const bidi = bidiFactory();

/** Any strong right-to-left character (Hebrew, Arabic, Syriac, Thaana, NKo… and their presentation forms). */
const RTL_CHARS = /[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]|\ud802[\udc00-\udfff]|\ud83a[\udc00-\udfff]/;
/** Scripts written without spaces between words: each character is its own break opportunity. */
const CJK_CHAR = /[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]|[\ud840-\ud87f][\udc00-\udfff]/;

export function loadFallbackFont(name: string, data: Buffer): FallbackFont {
  const font = fontkit.create(data);
  if (!('hasGlyphForCodePoint' in font)) throw new Error('a font collection is not a usable fallback font; name one face');
  return { name, covers: (cp) => font.hasGlyphForCodePoint(cp) };
}

export function primaryCoverage(data: Buffer): (codePoint: number) => boolean {
  const font = fontkit.create(data);
  if (!('hasGlyphForCodePoint' in font)) throw new Error('the primary font must be a single face');
  return (cp) => font.hasGlyphForCodePoint(cp);
}

export function needsLayout(text: string, primaryCovers: (cp: number) => boolean): boolean {
  if (RTL_CHARS.test(text) || BIDI_CONTROL.test(text)) return true;
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp > 0x7f && !isSpace(ch) && !primaryCovers(cp)) return true;
  }
  return false;
}

const isSpace = (ch: string) => /\s/.test(ch);
const BIDI_CONTROL = /[\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

/**
 * Wraps user-supplied text (a name) so its direction cannot reorder what surrounds it (FSI … PDI);
 * text without right-to-left characters is returned as it is.
 */
export const isolate = (text: string) => (RTL_CHARS.test(text) ? `\u2068${text}\u2069` : text);

/** Splits runs into tokens and picks, per character, the run's font or the first fallback that has the glyph. */
export function tokenize(runs: Run[], primaryCovers: (cp: number) => boolean, fallbacks: FallbackFont[]): Token[] {
  const tokens: Token[] = [];
  for (const run of runs) {
    let current: Token | null = null;
    const flush = () => {
      if (current?.text) tokens.push(current);
      current = null;
    };
    for (const ch of run.text) {
      if (ch === '\n') {
        flush();
        tokens.push({ text: '\n', font: run.font, space: true });
        continue;
      }
      if (BIDI_CONTROL.test(ch)) {
        flush();
        tokens.push({ text: ch, font: run.font, space: false, control: true });
        continue;
      }
      const cp = ch.codePointAt(0)!;
      const space = isSpace(ch);
      const font = space || primaryCovers(cp) ? run.font : (fallbacks.find((f) => f.covers(cp))?.name ?? run.font);
      const cjk = CJK_CHAR.test(ch);
      const joins = current !== null && current.space === space && current.font === font && !cjk && !CJK_CHAR.test(current.text);
      if (!joins) flush();
      if (current === null) current = { text: ch, font, space };
      else current.text += ch;
      if (cjk) flush();
    }
    flush();
  }
  return tokens;
}

/** Greedy line breaking at token boundaries; a token wider than the line gets a line of its own. */
export function breakLines(tokens: Token[], width: number, measure: (t: Token) => number): Token[][] {
  const lines: Token[][] = [];
  let line: Token[] = [];
  let used = 0;
  const end = () => {
    while (line.length && line[line.length - 1]!.space) line.pop();
    lines.push(line);
    line = [];
    used = 0;
  };
  for (const token of tokens) {
    if (token.text === '\n') {
      end();
      continue;
    }
    if (token.space && line.length === 0) continue;
    const w = measure(token);
    if (!token.space && line.length > 0 && used + w > width) end();
    line.push(token);
    used += w;
  }
  if (line.length || lines.length === 0) end();
  return lines;
}

/** The paragraph's base direction from its first strong character (Unicode rules P2–P3). */
export function baseDirection(text: string): 'ltr' | 'rtl' {
  const { paragraphs } = bidi.getEmbeddingLevels(text, 'auto');
  return (paragraphs[0]?.level ?? 0) % 2 === 1 ? 'rtl' : 'ltr';
}

/** Visual order of one line's tokens: rule L2 over whole tokens, each at the level of its first character. */
export function visualOrder(line: Token[], direction: 'ltr' | 'rtl'): Token[] {
  const text = line.map((t) => t.text).join('');
  const { levels } = bidi.getEmbeddingLevels(text, direction);
  const base = direction === 'rtl' ? 1 : 0;
  let offset = 0;
  const items = line.map((token) => {
    // Spaces at the end of a line take the paragraph level (rule L1).
    const level = levels[offset] ?? base;
    offset += token.text.length;
    return { token, level };
  });
  const highest = Math.max(base, ...items.map((i) => i.level));
  const lowestOdd = Math.min(...items.map((i) => i.level).filter((l) => l % 2 === 1), highest % 2 === 1 ? highest : highest + 1);
  for (let level = highest; level >= lowestOdd; level -= 1) {
    let i = 0;
    while (i < items.length) {
      if (items[i]!.level < level) {
        i += 1;
        continue;
      }
      let j = i;
      while (j < items.length && items[j]!.level >= level) j += 1;
      const reversed = items.slice(i, j).reverse();
      items.splice(i, j - i, ...reversed);
      i = j;
    }
  }
  return items.map((i) => i.token);
}

/**
 * Draws runs as a wrapped paragraph at (x, doc.y) within `width`, right-aligned when the paragraph
 * is right-to-left, adding pages as needed. Leaves doc.y below the last line.
 */
export function drawParagraph(
  doc: TextSurface,
  runs: Run[],
  x: number,
  width: number,
  primaryCovers: (cp: number) => boolean,
  fallbacks: FallbackFont[],
): void {
  const tokens = tokenize(runs, primaryCovers, fallbacks);
  const direction = baseDirection(runs.map((r) => r.text).join(''));
  const measure = (t: Token) => (t.control ? 0 : doc.font(t.font).widthOfString(t.text));
  const lines = breakLines(tokens, width, measure);
  let y = doc.y;
  for (const line of lines) {
    const lineHeight = doc.font(line[0]?.font ?? runs[0]?.font ?? 'r').currentLineHeight(true);
    if (y + lineHeight > doc.page.height - doc.page.margins.bottom && y > doc.page.margins.top) {
      doc.addPage();
      y = doc.page.margins.top;
    }
    const ordered = visualOrder(line, direction);
    const lineWidth = ordered.reduce((sum, t) => sum + measure(t), 0);
    let cursor = direction === 'rtl' ? x + Math.max(0, width - lineWidth) : x;
    for (const token of ordered) {
      const w = measure(token);
      if (!token.space && !token.control) doc.font(token.font).text(token.text, cursor, y, { lineBreak: false });
      cursor += w;
    }
    y += lineHeight;
  }
  doc.x = x;
  doc.y = y;
}
