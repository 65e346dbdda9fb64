/**
 * A report's versions: what its document held at each submit, return and final signature, stored
 * once and never changed (report_versions is append-only), so the resident's preliminary text
 * survives the attending's edits. The final version is written in the signing transaction; submit
 * and return, right after their move committed, from the sync-server's state (best effort: the move
 * stands if the version cannot be read).
 */
import { diffReport, type ReportDiff, type SectionText } from '@pacs/shared/report-document';
import { type Transaction, UniqueConstraintError } from 'sequelize';
import type { Models } from '../db/models';
import type { ReportVersionAttributes, VersionEvent } from '../db/version-models';
import { contentFromUpdate, type PMNode, type SignedContent, unb64 } from './content';

export interface VersionInput {
  reportId: string;
  event: VersionEvent;
  status: string;
  /** The whole Yjs document (base64). */
  update: string;
  author: { userId: string; name: string };
  /** `update` already read (contentFromUpdate), to read it once. */
  content?: Pick<SignedContent, 'contentJson' | 'contentText'>;
}

export interface StoredVersion {
  summary: ReportVersionAttributes;
  content: { doc: PMNode; sections: SectionText[]; text: string };
}

const wordsOf = (text: string) => (text.match(/\S+/g) ?? []).length;

export function presentVersion(v: Omit<ReportVersionAttributes, 'yjsState' | 'contentJson'>) {
  return {
    sequence: v.sequence,
    event: v.event,
    status: v.status,
    userId: v.userId,
    userName: v.userName,
    createdAt: new Date(v.createdAt).toISOString(),
    words: wordsOf(v.contentText),
  };
}

export function createVersionStore(models: Pick<Models, 'ReportVersion'>) {
  const { ReportVersion } = models;

  async function record(input: VersionInput, transaction?: Transaction): Promise<void> {
    const content = input.content ?? contentFromUpdate(unb64(input.update));
    // Numbers are taken in order; two writers racing for one number: the loser takes the next.
    for (let attempt = 0; ; attempt += 1) {
      const last = ((await ReportVersion.max('sequence', { where: { reportId: input.reportId }, transaction })) as number | null) ?? 0;
      try {
        await ReportVersion.create(
          {
            reportId: input.reportId,
            sequence: last + 1,
            event: input.event,
            status: input.status,
            contentJson: content.contentJson,
            contentText: content.contentText,
            yjsState: input.update,
            userId: input.author.userId,
            userName: input.author.name,
          },
          { transaction },
        );
        return;
      } catch (error) {
        // Inside a transaction the failed statement has spoiled it (PostgreSQL): only retry outside one.
        if (!(error instanceof UniqueConstraintError) || transaction || attempt >= 2) throw error;
      }
    }
  }

  /** The versions' summaries: the Yjs states and JSON stay in the database (read one version for those). */
  async function list(reportId: string): Promise<Omit<ReportVersionAttributes, 'yjsState' | 'contentJson'>[]> {
    return ReportVersion.findAll({
      where: { reportId },
      attributes: { exclude: ['yjsState', 'contentJson'] },
      order: [['sequence', 'ASC']],
      raw: true,
    });
  }

  async function read(reportId: string, sequence: number): Promise<StoredVersion | null> {
    const row = await ReportVersion.findOne({ where: { reportId, sequence }, raw: true });
    if (!row) return null;
    const parsed = JSON.parse(row.contentJson) as { doc: PMNode; sections: SectionText[] };
    return { summary: row, content: { doc: parsed.doc, sections: parsed.sections, text: row.contentText } };
  }

  /** From the first submit (the resident's preliminary) to the last version, unless told otherwise. */
  async function changes(
    reportId: string,
    range: { from?: number; to?: number },
  ): Promise<{ from: StoredVersion; to: StoredVersion; diff: ReportDiff } | null> {
    const versions = await list(reportId);
    if (versions.length === 0) return null;
    const fromSequence = range.from ?? (versions.find((v) => v.event === 'submit') ?? versions[0]!).sequence;
    const toSequence = range.to ?? versions.at(-1)!.sequence;
    const [from, to] = await Promise.all([read(reportId, fromSequence), read(reportId, toSequence)]);
    if (!from || !to) return null;
    return { from, to, diff: diffReport(from.content.sections, to.content.sections) };
  }

  return { record, list, read, changes };
}

export type VersionStore = ReturnType<typeof createVersionStore>;
