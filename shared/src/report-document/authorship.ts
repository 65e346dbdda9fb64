/**
 * Who wrote what, read from a report's Yjs document and the sync-server's authorship record
 * (SPEC AUTHOR-*): every Yjs item keeps the client id that created it, even after compaction, and
 * the sync-server knows which user each client id belongs to. Deleted text is collected by Yjs, so
 * deletions are counted per deleting user and author of the deleted text, not shown.
 */
import * as Y from 'yjs';
import type { ReportAuthor, ReportAuthorship } from '../schemas/report-authorship';
import { REPORT_DOCUMENT_SHAPE } from '../schemas/reports';
import { TEMPLATE_AUTHOR_ID } from '../sync-protocol';
import { FIELD_NODE } from './fields';
import { sectionKey } from './sections';

export type DeleteSet = ReturnType<typeof Y.createDeleteSet>;

/** A delete set as bytes: a snapshot without a state vector. */
export const encodeDeleteSet = (ds: DeleteSet): Uint8Array => Y.encodeSnapshot(Y.createSnapshot(ds, new Map()));

/** Throws on bytes that are not an encoded delete set. */
export const decodeDeleteSet = (bytes: Uint8Array): DeleteSet => Y.decodeSnapshot(bytes).ds;

/** One delete set holding every range of the given ones. */
export const mergeEncodedDeleteSets = (sets: readonly Uint8Array[]): Uint8Array =>
  sets.length === 1 ? sets[0]! : encodeDeleteSet(Y.mergeDeleteSets(sets.map(decodeDeleteSet)));

/** Ranges grouped per kind and user, in the order of each group's first, with each group's ranges merged into one. */
export function rangesPerUser<T extends UserRanges>(items: readonly T[]): { items: T[]; merged: UserRanges }[] {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = `${item.kind}\u0000${item.userId}`;
    groups.set(key, [...(groups.get(key) ?? []), item]);
  }
  return [...groups.values()].map((group) => {
    const { kind, userId, userName } = group[0]!;
    return { items: group, merged: { kind, userId, userName, ranges: mergeEncodedDeleteSets(group.map((g) => g.ranges)) } };
  });
}

export interface ClientBinding {
  clientId: number;
  userId: string;
  userName: string;
}

/** Item ranges a user deleted, or delivered under another user's client id (AUTHOR-2), as an encoded delete set. */
export interface UserRanges {
  kind: 'deleted' | 'relayed';
  userId: string;
  userName: string;
  ranges: Uint8Array;
}

interface Run {
  text: string;
  client: number | null;
  /** The first clock of the run (a run is one Yjs item: consecutive clocks). */
  clock: number;
}

/** The live characters of a Y.XmlText, with the client (and clock) that inserted each run. */
function textRuns(text: Y.XmlText, out: Run[]): void {
  for (let item = text._start; item !== null; item = item.right) {
    if (item.deleted || !(item.content instanceof Y.ContentString)) continue;
    out.push({ text: item.content.str, client: item.id.client, clock: item.id.clock });
  }
}

/** Who last set an attribute (a field's value is an attribute of its node). */
function attributeId(element: Y.XmlElement, key: string): { client: number | null; clock: number } {
  const item = element._map.get(key);
  return item && !item.deleted ? { client: item.id.client, clock: item.id.clock } : { client: null, clock: 0 };
}

function inlineRuns(parent: Y.XmlElement | Y.XmlFragment, out: Run[]): void {
  for (const child of parent.toArray()) {
    if (child instanceof Y.XmlText) textRuns(child, out);
    else if (child instanceof Y.XmlElement) {
      if (child.nodeName === FIELD_NODE) {
        const value = child.getAttribute('value');
        if (typeof value === 'string' && value) out.push({ text: value, ...attributeId(child, 'value') });
      } else if (child.nodeName === 'hardBreak') out.push({ text: '\n', client: null, clock: 0 });
      else blockRuns(child, out);
    }
  }
}

function blockRuns(element: Y.XmlElement, out: Run[]): void {
  const before = out.length;
  inlineRuns(element, out);
  const isLeafBlock = element.nodeName === 'paragraph' || element.nodeName === 'heading';
  if (isLeafBlock && out.length >= before) out.push({ text: '\n', client: null, clock: 0 });
}

const isSectionHeading = (element: Y.XmlElement) =>
  element.nodeName === 'heading' && Number(element.getAttribute('level') ?? 1) <= REPORT_DOCUMENT_SHAPE.sectionHeadingLevel;

type Sections = ReportAuthorship['sections'];

type Attribution = { userId: string | null; relayedBy?: string };

/** Who wrote one character: its client's owner, and who delivered it if that was someone else. */
type Attribute = (client: number, clock: number) => Attribution;

/**
 * Runs split where the attribution changes, consecutive runs of one attribution merged; line
 * breaks belong to no one and join the run before them.
 */
function mergeRuns(runs: readonly Run[], attribute: Attribute): Sections[number]['runs'] {
  const merged: Sections[number]['runs'] = [];
  const push = (text: string, who: Attribution) => {
    const last = merged.at(-1);
    if (last && last.userId === who.userId && last.relayedBy === who.relayedBy) last.text += text;
    else merged.push(who.relayedBy ? { text, userId: who.userId, relayedBy: who.relayedBy } : { text, userId: who.userId });
  };
  for (const run of runs) {
    if (run.client === null) {
      const last = merged.at(-1);
      push(run.text, last ? { userId: last.userId, relayedBy: last.relayedBy } : { userId: null });
      continue;
    }
    // One Yjs item: its characters have consecutive clocks, each attributed on its own.
    for (let i = 0; i < run.text.length; i++) push(run.text[i]!, attribute(run.client, run.clock + i));
  }
  const last = merged.at(-1);
  if (last) last.text = last.text.replace(/\n+$/, '');
  if (last?.text === '') merged.pop();
  return merged;
}

/** Runs by section (a section starts at every heading of level 1 or 2, as in the signed content). */
function attributedSections(doc: Y.Doc, attribute: Attribute): Sections {
  const raw: { title: string; runs: Run[] }[] = [];
  for (const child of doc.getXmlFragment(REPORT_DOCUMENT_SHAPE.fragment).toArray()) {
    if (!(child instanceof Y.XmlElement)) continue;
    if (isSectionHeading(child)) {
      const title: Run[] = [];
      inlineRuns(child, title);
      raw.push({
        title: title
          .map((r) => r.text)
          .join('')
          .trim(),
        runs: [],
      });
      continue;
    }
    if (raw.length === 0) raw.push({ title: '', runs: [] });
    blockRuns(child, raw.at(-1)!.runs);
  }
  const used = new Set<string>();
  return raw
    .map(({ title, runs }) => ({ key: sectionKey(title || 'preamble', used), title, runs: mergeRuns(runs, attribute) }))
    .filter((s) => s.title !== '' || s.runs.length > 0);
}

/**
 * The report's text attributed to its authors, and what each user deleted of whose text.
 * `clients` is the sync-server's binding of client ids to users (first binding wins).
 */
export function reportAuthorship(
  reportId: string,
  doc: Y.Doc,
  clients: readonly ClientBinding[],
  ranges: readonly UserRanges[],
): ReportAuthorship {
  const userOfClient = new Map<number, string>();
  const authors = new Map<string, ReportAuthor>();
  const author = (userId: string, name: string): ReportAuthor => {
    let a = authors.get(userId);
    if (!a) {
      a = { userId, name, clientIds: [], written: 0, deleted: 0 };
      authors.set(userId, a);
    }
    return a;
  };
  for (const binding of clients) {
    if (userOfClient.has(binding.clientId)) continue;
    userOfClient.set(binding.clientId, binding.userId);
    author(binding.userId, binding.userId === TEMPLATE_AUTHOR_ID ? 'Template' : binding.userName).clientIds.push(binding.clientId);
  }
  const relayed = ranges.filter((r) => r.kind === 'relayed').map((r) => ({ userId: r.userId, ds: decodeDeleteSet(r.ranges) }));
  const attribute: Attribute = (client, clock) => {
    const userId = userOfClient.get(client) ?? null;
    // A user resending their own text (after a reconnect to another instance) proves nothing new.
    const by = relayed.find((r) => r.userId !== userId && Y.isDeleted(r.ds, Y.createID(client, clock)));
    return by ? { userId, relayedBy: by.userId } : { userId };
  };
  const sections = attributedSections(doc, attribute);
  for (const section of sections)
    for (const run of section.runs) if (run.userId) author(run.userId, run.userId).written += run.text.replace(/\n/g, '').length;
  const removed = new Map<string, { byUserId: string; ofUserId: string | null; characters: number }>();
  for (const record of ranges) {
    if (record.kind !== 'deleted') continue;
    const by = author(record.userId, record.userName);
    for (const [client, items] of decodeDeleteSet(record.ranges).clients) {
      const ofUserId = userOfClient.get(client) ?? null;
      const characters = items.reduce((n, r) => n + r.len, 0);
      by.deleted += characters;
      const key = `${record.userId}\u0000${ofUserId}`;
      const entry = removed.get(key) ?? { byUserId: record.userId, ofUserId, characters: 0 };
      entry.characters += characters;
      removed.set(key, entry);
    }
  }
  return { reportId, authors: [...authors.values()], sections, deletions: [...removed.values()].filter((d) => d.characters > 0) };
}
