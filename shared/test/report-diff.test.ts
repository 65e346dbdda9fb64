/**
 * The word diff between report versions: joined, the parts give back both texts exactly; the edit
 * is minimal on known cases; seeded random edits of long sections round-trip and count right.
 */
import { describe, expect, it } from 'vitest';
import { diffReport, diffTokens, tokens } from '../src/report-document/diff';

const before = (parts: { kind: string; text: string }[]) =>
  parts
    .filter((p) => p.kind !== 'inserted')
    .map((p) => p.text)
    .join('');
const after = (parts: { kind: string; text: string }[]) =>
  parts
    .filter((p) => p.kind !== 'deleted')
    .map((p) => p.text)
    .join('');

/** A small deterministic generator (mulberry32), so a failure names its seed. */
function random(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('word diff', () => {
  it.each([
    ['', '', []],
    ['No acute findings.', 'No acute findings.', [{ kind: 'same', text: 'No acute findings.' }]],
    [
      'Small nodule in the right lung.',
      'Small 4 mm nodule in the right upper lobe.',
      [
        { kind: 'same', text: 'Small ' },
        { kind: 'inserted', text: '4 mm ' },
        { kind: 'same', text: 'nodule in the right ' },
        { kind: 'deleted', text: 'lung.' },
        { kind: 'inserted', text: 'upper lobe.' },
      ],
    ],
    ['', 'Everything new.', [{ kind: 'inserted', text: 'Everything new.' }]],
    ['All gone.', '', [{ kind: 'deleted', text: 'All gone.' }]],
  ])('%j → %j', (a, b, parts) => {
    expect(diffTokens(tokens(a), tokens(b))).toEqual(parts);
  });

  it.each([1, 2, 3, 4, 5, 6, 7, 8])('seed %i: random edits of a long section give back both texts', (seed) => {
    const next = random(seed);
    const vocabulary = ['nodule', 'lobe', 'no', 'acute', 'findings', 'effusion', 'mm', 'right', 'left', 'stable', 'since', 'prior'];
    const words = Array.from({ length: 800 }, () => vocabulary[Math.floor(next() * vocabulary.length)]!);
    const edited = [...words];
    for (let i = 0; i < 60; i += 1) {
      const at = Math.floor(next() * edited.length);
      if (next() < 0.5) edited.splice(at, 1);
      else edited.splice(at, 0, vocabulary[Math.floor(next() * vocabulary.length)]!);
    }
    const a = words.join(' ');
    const b = edited.join(' ');
    const parts = diffTokens(tokens(a), tokens(b));
    expect(before(parts)).toBe(a);
    expect(after(parts)).toBe(b);
    // At most the 60 edits (and their separating spaces) change.
    const changedWords = parts.filter((p) => p.kind !== 'same').flatMap((p) => tokens(p.text).filter((t) => /\S/.test(t)));
    expect(changedWords.length).toBeLessThanOrEqual(60);
  });
});

describe('report diff by section', () => {
  it('matches sections by key, counts words, keeps sections only one side has', () => {
    const diff = diffReport(
      [
        { key: 'findings', title: 'Findings', text: 'Small nodule.' },
        { key: 'comparison', title: 'Comparison', text: 'None.' },
      ],
      [
        { key: 'findings', title: 'Findings', text: 'Small 4 mm nodule.' },
        { key: 'impression', title: 'Impression', text: 'Follow up.' },
      ],
    );
    expect(diff.sections.map((s) => [s.key, s.inserted, s.deleted])).toEqual([
      ['findings', 2, 0],
      ['impression', 2, 0],
      ['comparison', 0, 1],
    ]);
    expect(diff).toMatchObject({ inserted: 4, deleted: 1, wordsBefore: 3 });
  });
});
