/**
 * What changed between two versions of a report, section by section and word by word: the
 * resident's preliminary against the attending's final, for teaching and QA. Words and the space
 * between them are the units (a changed comma changes its word); Myers' algorithm finds the fewest
 * insertions and deletions, so a 20-page report with light edits costs little.
 */

export interface SectionText {
  key: string;
  title: string;
  text: string;
}

export type DiffPart = { kind: 'same' | 'inserted' | 'deleted'; text: string };

export interface SectionDiff {
  key: string;
  title: string;
  parts: DiffPart[];
  /** Words inserted and deleted (whitespace not counted). */
  inserted: number;
  deleted: number;
}

export interface ReportDiff {
  sections: SectionDiff[];
  inserted: number;
  deleted: number;
  /** Words of the earlier version. */
  wordsBefore: number;
}

/** Words and the whitespace runs between them, in order; joined they give the text back. */
export function tokens(text: string): string[] {
  return text.match(/\s+|[^\s]+/g) ?? [];
}

const isWord = (token: string) => /\S/.test(token);

/**
 * Myers' O((N+M)·D) shortest edit script between two token lists, as a list of parts. `trace[d]`
 * keeps the part of the frontier step d started from (diagonals −d−1 … d+1, so O(D²) memory in
 * all), so the path can be walked back.
 */
export function diffTokens(a: readonly string[], b: readonly string[]): DiffPart[] {
  const n = a.length;
  const m = b.length;
  const max = n + m;
  // Diagonal k lives at index offset + k; one spare slot each side keeps k ± 1 and the slices in range.
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  // Step d reads diagonals of the other parity (written at step d − 1) and writes its own: one array, updated in place.
  for (let d = 0; d <= max; d += 1) {
    trace.push(v.slice(offset - d - 1, offset + d + 2));
    let reached = false;
    for (let k = -d; k <= d; k += 2) {
      const down = k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!);
      let x = down ? v[offset + k + 1]! : v[offset + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x += 1;
        y += 1;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) {
        reached = true;
        break;
      }
    }
    if (reached) break;
  }
  // Walk back from (n, m) through the saved frontiers.
  const reversed: DiffPart[] = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d > 0; d -= 1) {
    const frontier = trace[d]!;
    // trace[d][i] is diagonal i − d − 1 (the slice starts at offset − d − 1).
    const at = (diagonal: number) => frontier[diagonal + d + 1]!;
    const k = x - y;
    const down = k === -d || (k !== d && at(k - 1) < at(k + 1));
    const prevK = down ? k + 1 : k - 1;
    const prevX = at(prevK);
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      x -= 1;
      y -= 1;
      reversed.push({ kind: 'same', text: a[x]! });
    }
    if (down) reversed.push({ kind: 'inserted', text: b[prevY]! });
    else reversed.push({ kind: 'deleted', text: a[prevX]! });
    x = prevX;
    y = prevY;
  }
  while (x > 0 && y > 0) {
    x -= 1;
    y -= 1;
    reversed.push({ kind: 'same', text: a[x]! });
  }
  return merge(reversed.reverse());
}

/** Adjacent parts of one kind become one part. */
function merge(parts: DiffPart[]): DiffPart[] {
  const merged: DiffPart[] = [];
  for (const part of parts) {
    const last = merged.at(-1);
    if (last && last.kind === part.kind) last.text += part.text;
    else merged.push({ ...part });
  }
  return merged;
}

const wordsIn = (text: string) => tokens(text).filter(isWord).length;

/**
 * Section by section, in the later version's order, then sections only the earlier one had. A
 * section is matched by its key (its title may have been renamed).
 */
export function diffReport(before: readonly SectionText[], after: readonly SectionText[]): ReportDiff {
  const earlier = new Map(before.map((s) => [s.key, s]));
  const keys = [...after.map((s) => s.key), ...before.filter((s) => !after.some((a) => a.key === s.key)).map((s) => s.key)];
  const sections: SectionDiff[] = [];
  for (const key of keys) {
    const a = earlier.get(key);
    const b = after.find((s) => s.key === key);
    const parts = diffTokens(tokens(a?.text ?? ''), tokens(b?.text ?? ''));
    const count = (kind: DiffPart['kind']) => parts.filter((p) => p.kind === kind).reduce((n, p) => n + wordsIn(p.text), 0);
    sections.push({ key, title: b?.title ?? a?.title ?? key, parts, inserted: count('inserted'), deleted: count('deleted') });
  }
  return {
    sections,
    inserted: sections.reduce((n, s) => n + s.inserted, 0),
    deleted: sections.reduce((n, s) => n + s.deleted, 0),
    wordsBefore: before.reduce((n, s) => n + wordsIn(s.text), 0),
  };
}
