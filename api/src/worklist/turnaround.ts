/**
 * `GET /api/dashboard/turnaround`: median study-to-final time (study received → its primary
 * report finally signed), per local day and over the window. Addenda do not count: the study was
 * final when its first report was. An aggregate of durations only, so no patient data leaves and
 * no audit row is written (like the matrix, the permission is the worklist's `study:read`).
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Turnaround, TurnaroundQuery } from '@pacs/shared';
import type { FastifyInstance } from 'fastify';
import { Op } from 'sequelize';

const DAY = 86_400_000;
const HOUR = 3_600_000;

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const round = (hours: number | null) => (hours === null ? null : Math.round(hours * 100) / 100);

export default async function turnaroundRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { models } = app.db;

  app.get(
    '/api/dashboard/turnaround',
    {
      config: { access: 'study:read' },
      schema: {
        tags: ['worklist'],
        summary: 'Median study-to-final time per day (aggregate, no patient data)',
        querystring: TurnaroundQuery,
        response: { 200: Turnaround },
      },
    },
    async (request) => {
      const days = request.query.days ?? 7;
      const offset = (request.query.tzOffsetMinutes ?? 0) * 60_000;
      const now = Date.now();
      // Local midnight (days - 1) days ago, in the viewer's offset.
      const todayStartLocal = Math.floor((now + offset) / DAY) * DAY;
      const from = todayStartLocal - (days - 1) * DAY - offset;

      const reports = await models.Report.findAll({
        attributes: ['studyRef', 'finalSignedAt'],
        where: { parentReportId: null, finalSignedAt: { [Op.gte]: new Date(from), [Op.lte]: new Date(now) } },
        raw: true,
      });
      const studies = await models.Study.findAll({
        attributes: ['id', 'receivedAt'],
        where: { id: [...new Set(reports.map((r) => r.studyRef))] },
        raw: true,
      });
      const receivedAt = new Map(studies.map((s) => [s.id, new Date(s.receivedAt).getTime()]));

      const perDay: number[][] = Array.from({ length: days }, () => []);
      const all: number[] = [];
      for (const report of reports) {
        const received = receivedAt.get(report.studyRef);
        if (received === undefined || !report.finalSignedAt) continue;
        const signed = new Date(report.finalSignedAt).getTime();
        const hours = Math.max(0, signed - received) / HOUR;
        const index = Math.floor((signed - from) / DAY);
        if (index < 0 || index >= days) continue;
        perDay[index]!.push(hours);
        all.push(hours);
      }
      return {
        from: new Date(from).toISOString(),
        to: new Date(now).toISOString(),
        medianHours: round(median(all)),
        count: all.length,
        days: perDay.map((values, i) => ({
          date: new Date(from + offset + i * DAY).toISOString().slice(0, 10),
          medianHours: round(median(values)),
          count: values.length,
        })),
      };
    },
  );
}
