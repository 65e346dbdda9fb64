/**
 * A critical result as the outside world reads it: the API's answer (with its communication record)
 * and the lines the ORU, the PDF and FHIR carry.
 */
import type { CriticalEvent, CriticalResult } from '@pacs/shared';
import { Op, type Transaction } from 'sequelize';
import type { CriticalEventAttributes, CriticalResultAttributes } from '../db/critical-models';
import type { Models, StudyAttributes } from '../db/models';

const iso = (value: Date | string) => new Date(value).toISOString();

function when(value: Date | string): string {
  return `${iso(value).replace('T', ' ').slice(0, 16)} UTC`;
}

/** One line per critical result: what, by whom, and whether (and how) it was acknowledged. */
export function criticalLine(result: CriticalResultAttributes): string {
  const flagged = `CRITICAL RESULT (${result.category}) flagged by ${result.flaggedByName} ${when(result.flaggedAt)}: ${result.message}`;
  if (result.status === 'withdrawn') return `${flagged} Withdrawn: ${result.closeNote}`;
  if (result.status !== 'acknowledged' || !result.acknowledgedAt) return `${flagged} Not yet acknowledged.`;
  const how = [result.ackChannel ?? '', result.readBack ? 'read back' : ''].filter(Boolean).join(', ');
  const receiver = result.receivedBy && result.receivedBy !== result.acknowledgedByName ? ` received by ${result.receivedBy},` : '';
  return `${flagged} Acknowledged${receiver} recorded by ${result.acknowledgedByName} (${how}) ${when(result.acknowledgedAt)}.`;
}

/** The critical results raised on these reports (not withdrawn), oldest first: their communication record. */
export function criticalResultsOf(models: Models, reportIds: string[], transaction?: Transaction): Promise<CriticalResultAttributes[]> {
  return models.CriticalResult.findAll({
    where: { reportId: { [Op.in]: reportIds }, status: { [Op.ne]: 'withdrawn' } },
    order: [['flaggedAt', 'ASC']],
    transaction,
    raw: true,
  });
}

export function criticalLines(results: CriticalResultAttributes[]): string[] {
  return results.filter((result) => result.status !== 'withdrawn').map(criticalLine);
}

export function presentCriticalEvent(event: CriticalEventAttributes): CriticalEvent {
  return {
    at: iso(event.at),
    kind: event.kind,
    channel: event.channel,
    level: event.level,
    target: event.target,
    actorName: event.actorName,
    detail: event.detail,
  };
}

export function presentCriticalResult(
  result: CriticalResultAttributes,
  study: Pick<StudyAttributes, 'accessionNumber' | 'patientName' | 'patientId' | 'description'> | null,
  events: CriticalEventAttributes[],
): CriticalResult {
  return {
    id: result.id,
    reportId: result.reportId,
    studyId: result.studyRef,
    accessionNumber: study?.accessionNumber ?? '',
    patientName: study?.patientName ?? '',
    patientId: study?.patientId ?? '',
    studyDescription: study?.description ?? '',
    category: result.category,
    message: result.message,
    status: result.status,
    flaggedByName: result.flaggedByName,
    raisedAt: result.raisedAt ? iso(result.raisedAt) : null,
    flaggedAt: iso(result.flaggedAt),
    dueAt: iso(result.dueAt),
    level: result.level,
    recipientName: result.recipientName,
    recipientReachable: !events.some((event) => event.kind === 'unreachable' && event.level === 0),
    acknowledgedAt: result.acknowledgedAt ? iso(result.acknowledgedAt) : null,
    acknowledgedByName: result.acknowledgedByName,
    ackChannel: result.ackChannel ?? null,
    receivedBy: result.receivedBy,
    events: events.map(presentCriticalEvent),
  };
}
