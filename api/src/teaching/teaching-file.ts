/**
 * The teaching file: a resident's signed reports, newest first, each with what the attending changed
 * between the resident's last preliminary and the signed text (words inserted and deleted, sections
 * touched), from the report versions. Restricted patients' reports are left out unless the reader
 * may see them.
 */
import { diffReport, type SectionText } from '@pacs/shared/report-document';
import { Op } from 'sequelize';
import type { Models } from '../db/models';
import type { AccessPolicy } from '../restricted-access/policy';

export interface TeachingPage {
  items: {
    reportId: string;
    studyId: string;
    accessionNumber: string;
    studyDescription: string;
    signedAt: string;
    signedBy: string;
    changes: { wordsBefore: number; inserted: number; deleted: number; percent: number; sectionsChanged: string[] } | null;
  }[];
  nextBefore: string | null;
  patientIds: string[];
}

const sectionsOf = (contentJson: string) => (JSON.parse(contentJson) as { sections: SectionText[] }).sections;

export async function residentsWithReports(models: Pick<Models, 'User' | 'Report'>) {
  const residents = await models.User.findAll({
    where: { role: 'resident' },
    attributes: ['id', 'name'],
    order: [['name', 'ASC']],
    raw: true,
  });
  const counts = await models.Report.count({
    where: { authorId: { [Op.in]: residents.map((r) => r.id) }, parentReportId: null, status: { [Op.in]: ['final', 'addended'] } },
    group: ['authorId'],
  });
  const byAuthor = new Map(counts.map((c) => [String((c as unknown as { authorId: string }).authorId), Number(c.count)]));
  return residents.map((r) => ({ id: r.id, name: r.name, signedReports: byAuthor.get(r.id) ?? 0 }));
}

export async function teachingReports(
  models: Pick<Models, 'Report' | 'Study' | 'ReportVersion'>,
  policy: Pick<AccessPolicy, 'maskedStudies'>,
  reader: string,
  query: { residentId: string; limit: number; before?: string },
): Promise<TeachingPage> {
  const rows = await models.Report.findAll({
    where: {
      authorId: query.residentId,
      parentReportId: null,
      status: { [Op.in]: ['final', 'addended'] },
      ...(query.before ? { finalSignedAt: { [Op.lt]: new Date(query.before) } } : {}),
    },
    order: [['finalSignedAt', 'DESC']],
    limit: query.limit + 1,
    raw: true,
  });
  const page = rows.slice(0, query.limit);
  const studies = new Map(
    (await models.Study.findAll({ where: { id: { [Op.in]: page.map((r) => r.studyRef) } }, raw: true, paranoid: false })).map((s) => [
      s.id,
      s,
    ]),
  );
  const masked = await policy.maskedStudies(reader, [...studies.values()]);
  const versions = await models.ReportVersion.findAll({
    where: { reportId: { [Op.in]: page.map((r) => r.id) }, event: { [Op.in]: ['submit', 'finalize'] } },
    attributes: ['reportId', 'sequence', 'event', 'contentJson'],
    order: [['sequence', 'ASC']],
    raw: true,
  });
  const items: TeachingPage['items'] = [];
  const patientIds: string[] = [];
  for (const report of page) {
    const study = studies.get(report.studyRef);
    if (!study || masked.has(study.id)) continue;
    const own = versions.filter((v) => v.reportId === report.id);
    const preliminary = own.filter((v) => v.event === 'submit').at(-1);
    const final = own.find((v) => v.event === 'finalize');
    let changes: TeachingPage['items'][number]['changes'] = null;
    if (preliminary && final) {
      const diff = diffReport(sectionsOf(preliminary.contentJson), sectionsOf(final.contentJson));
      changes = {
        wordsBefore: diff.wordsBefore,
        inserted: diff.inserted,
        deleted: diff.deleted,
        percent: diff.wordsBefore === 0 ? 100 : Math.round((100 * (diff.inserted + diff.deleted)) / diff.wordsBefore),
        sectionsChanged: diff.sections.filter((s) => s.inserted + s.deleted > 0).map((s) => s.title),
      };
    }
    items.push({
      reportId: report.id,
      studyId: study.id,
      accessionNumber: study.accessionNumber,
      studyDescription: study.description,
      signedAt: new Date(report.finalSignedAt!).toISOString(),
      signedBy: report.finalSignerName ?? '',
      changes,
    });
    patientIds.push(study.patientId);
  }
  const nextBefore = rows.length > query.limit ? new Date(page.at(-1)!.finalSignedAt!).toISOString() : null;
  return { items, nextBefore, patientIds };
}
