/**
 * An audit row as a DICOM PS3.15 A.5 audit message (the XML an ATNA audit repository takes): the
 * event with its DCM code, the user who asked and this application, the audit source, and the
 * patient, study and object the event touched. One line of XML, every character outside the
 * printable range escaped, so a syslog receiver stores it as sent.
 */
import type { AuditEventId } from '@pacs/shared';
import type { AuditLogAttributes } from '../../db/models';

/** DCM codes of PS3.16 CID 400 (Audit Event ID). */
const EVENT_CODES: Readonly<Record<AuditEventId, { code: string; meaning: string }>> = {
  UserAuthentication: { code: '110114', meaning: 'User Authentication' },
  PatientRecord: { code: '110110', meaning: 'Patient Record' },
  OrderRecord: { code: '110109', meaning: 'Order Record' },
  Query: { code: '110112', meaning: 'Query' },
  DICOMInstancesAccessed: { code: '110103', meaning: 'DICOM Instances Accessed' },
  Import: { code: '110107', meaning: 'Import' },
  Export: { code: '110106', meaning: 'Export' },
  SecurityAlert: { code: '110113', meaning: 'Security Alert' },
  ApplicationActivity: { code: '110100', meaning: 'Application Activity' },
};

/** CID 401 event type codes for the details our rows name. */
const EVENT_TYPES: Readonly<Record<string, { code: string; meaning: string }>> = {
  login: { code: '110122', meaning: 'Login' },
  logout: { code: '110123', meaning: 'Logout' },
  'emergency-override-started': { code: '110127', meaning: 'Emergency Override Started' },
  'emergency-override-stopped': { code: '110138', meaning: 'Emergency Override Stopped' },
  'user-created': { code: '110137', meaning: 'User security Attributes Changed' },
  'user-updated': { code: '110137', meaning: 'User security Attributes Changed' },
};

export interface AuditSource {
  /** AuditSourceID: this system's name at the repository (its host name by default). */
  sourceId: string;
  /** AuditEnterpriseSiteID. */
  siteId: string;
  /** The application's own UserID in the message. */
  applicationId: string;
}

export interface AuditActor {
  login: string;
  name: string;
}

/** XML attribute and text escaping; control characters become character references or '?' where XML 1.0 forbids them. */
export function xmlEscape(value: string): string {
  let out = '';
  for (const char of value) {
    const code = char.codePointAt(0)!;
    if (char === '&') out += '&amp;';
    else if (char === '<') out += '&lt;';
    else if (char === '>') out += '&gt;';
    else if (char === '"') out += '&quot;';
    else if (code === 0x9 || code === 0xa || code === 0xd) out += `&#${code};`;
    else if (code < 0x20 || code === 0xfffe || code === 0xffff) out += '?';
    else out += char;
  }
  return out;
}

const attributes = (values: Record<string, string | undefined>) =>
  Object.entries(values)
    .filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== '')
    .map(([name, value]) => ` ${name}="${xmlEscape(value)}"`)
    .join('');

const coded = (tag: string, code: string, system: string, meaning: string) =>
  `<${tag}${attributes({ 'csd-code': code, codeSystemName: system, originalText: meaning })}/>`;

function detailsOf(row: AuditLogAttributes): Record<string, unknown> {
  if (!row.details) return {};
  try {
    const parsed = JSON.parse(row.details) as unknown;
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/**
 * The refusal's reason; for a view made offline (EventDateTime is the device's time of the view),
 * that it was offline, on which device, and when the server received it.
 */
function outcomeDescription(details: Record<string, unknown>): string | undefined {
  if (typeof details.reason === 'string') return details.reason;
  if (details.offline === true) {
    return `viewed offline on device ${String(details.deviceId ?? '?')}; received ${String(details.receivedAt ?? '?')}`;
  }
  return undefined;
}

export function auditMessageXml(row: AuditLogAttributes, source: AuditSource, actor: AuditActor | null): string {
  const event = EVENT_CODES[row.eventId] ?? EVENT_CODES.ApplicationActivity;
  const details = detailsOf(row);
  const type = typeof details.event === 'string' ? EVENT_TYPES[details.event] : undefined;
  const description = outcomeDescription(details);
  const parts: string[] = ['<AuditMessage>'];
  parts.push(
    `<EventIdentification${attributes({
      EventActionCode: row.action,
      EventDateTime: new Date(row.eventDateTime).toISOString(),
      EventOutcomeIndicator: String(row.outcome),
    })}>`,
    coded('EventID', event.code, 'DCM', event.meaning),
    type ? coded('EventTypeCode', type.code, 'DCM', type.meaning) : '',
    description ? `<EventOutcomeDescription>${xmlEscape(description)}</EventOutcomeDescription>` : '',
    '</EventIdentification>',
  );
  // The person (or, for system events, the application) who caused the event.
  if (row.userId) {
    parts.push(
      `<ActiveParticipant${attributes({
        UserID: actor?.login ?? row.userId,
        AlternativeUserID: row.userId,
        UserName: actor?.name,
        UserIsRequestor: 'true',
        NetworkAccessPointID: row.networkAddress ?? undefined,
        NetworkAccessPointTypeCode: row.networkAddress ? '2' : undefined,
      })}>`,
      row.userRole ? coded('RoleIDCode', row.userRole, 'PACS role', row.userRole) : '',
      '</ActiveParticipant>',
    );
  }
  parts.push(
    `<ActiveParticipant${attributes({ UserID: source.applicationId, UserIsRequestor: row.userId ? 'false' : 'true', NetworkAccessPointID: source.sourceId, NetworkAccessPointTypeCode: '1' })}>`,
    coded('RoleIDCode', '110150', 'DCM', 'Application'),
    '</ActiveParticipant>',
    `<AuditSourceIdentification${attributes({ AuditEnterpriseSiteID: source.siteId, AuditSourceID: source.sourceId })}>`,
    coded('AuditSourceTypeCode', '4', 'DCM', 'Application Server'),
    '</AuditSourceIdentification>',
  );
  if (row.patientId) {
    parts.push(
      `<ParticipantObjectIdentification${attributes({ ParticipantObjectID: row.patientId, ParticipantObjectTypeCode: '1', ParticipantObjectTypeCodeRole: '1' })}>`,
      coded('ParticipantObjectIDTypeCode', '2', 'RFC-3881', 'Patient Number'),
      '</ParticipantObjectIdentification>',
    );
  }
  if (row.studyUid) {
    parts.push(
      `<ParticipantObjectIdentification${attributes({ ParticipantObjectID: row.studyUid, ParticipantObjectTypeCode: '2', ParticipantObjectTypeCodeRole: '3' })}>`,
      coded('ParticipantObjectIDTypeCode', '110180', 'DCM', 'Study Instance UID'),
      '</ParticipantObjectIdentification>',
    );
  }
  if (row.objectType && row.objectId) {
    parts.push(
      `<ParticipantObjectIdentification${attributes({ ParticipantObjectID: row.objectId, ParticipantObjectTypeCode: '2', ParticipantObjectTypeCodeRole: '13' })}>`,
      coded('ParticipantObjectIDTypeCode', row.objectType, 'PACS object type', row.objectType),
      typeof details.route === 'string'
        ? `<ParticipantObjectDescription>${xmlEscape(`${String(details.method ?? '')} ${details.route}`.trim())}</ParticipantObjectDescription>`
        : '',
      '</ParticipantObjectIdentification>',
    );
  }
  parts.push('</AuditMessage>');
  return parts.join('');
}
