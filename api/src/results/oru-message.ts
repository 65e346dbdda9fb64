/**
 * A signed report as an HL7 v2.5.1 ORU^R01 for the hospital: the patient (PID), the order it
 * answers (ORC/OBR with placer and filler numbers and the accession), the result status (F final,
 * C corrected by an addendum, P preliminary), who signed it and when (OBR-32, OBR-22), and the
 * signed text, one OBX per line. A report with a critical result carries the abnormal flag AA
 * (HL7 table 0078, critically abnormal) on every OBX and the finding in an NTE. Written in UTF-8 (MSH-18), built with @medplum/core's model.
 */
import { formatHl7DateTime, Hl7Context, Hl7Message, Hl7Segment } from '@medplum/core';
import { escapeHl7 } from '../hl7/message-reader';

export type ResultStatus = 'F' | 'C' | 'P';

export interface OruContent {
  controlId: string;
  sender: { application: string; facility: string };
  destination: string;
  patient: { id: string; issuer: string; name: string; birthDate: string | null; sex: string | null };
  order: { placerNamespace: string; placerOrderNumber: string; fillerOrderNumber: string } | null;
  study: {
    accessionNumber: string;
    studyInstanceUid: string;
    procedureCode: string;
    procedureText: string;
    studyDate: string | null;
    studyTime: string | null;
  };
  status: ResultStatus;
  signer: { id: string; name: string };
  signedAt: Date;
  /** The text as signed (with an addendum: the original, then the addendum). */
  text: string;
  /** The report's critical results (not withdrawn), as one line each for the NTE. */
  critical?: string[];
  /** Coded fields of the signed content (RadLex…), each an OBX after the narrative. */
  coded?: { scheme: string; value: string; meaning: string; observation: string }[];
}

/** DICOM PN family^given^middle^prefix^suffix → HL7 XPN family^given^middle^suffix^prefix. */
function xpn(pn: string, context: Hl7Context): string {
  const [family = '', given = '', middle = '', prefix = '', suffix = ''] = pn.split('=')[0]!.split('^');
  return [family, given, middle, suffix, prefix]
    .map((part) => escapeHl7(part, context))
    .join(context.componentSeparator)
    .replace(/\^+$/, '');
}

export function buildOru(content: OruContent): Hl7Message {
  const context = new Hl7Context();
  const c = context.componentSeparator;
  const s = context.subcomponentSeparator;
  const esc = (value: string) => escapeHl7(value, context);
  const segment = (fields: string[]) => new Hl7Segment(fields, context);
  const observed = content.study.studyDate ? `${content.study.studyDate}${(content.study.studyTime ?? '').slice(0, 6)}` : '';
  const placer = content.order ? `${esc(content.order.placerOrderNumber)}${c}${esc(content.order.placerNamespace)}` : '';
  const filler = `${esc(content.order?.fillerOrderNumber || content.study.accessionNumber)}${c}${esc(content.sender.application)}`;
  const service = content.study.procedureCode
    ? [esc(content.study.procedureCode), esc(content.study.procedureText), 'L'].join(c)
    : `${c}${esc(content.study.procedureText)}`;
  const obr = Array<string>(33).fill('');
  obr[0] = 'OBR';
  obr[1] = '1';
  obr[2] = placer;
  obr[3] = filler;
  obr[4] = service;
  obr[7] = observed;
  obr[18] = esc(content.study.accessionNumber);
  obr[22] = formatHl7DateTime(content.signedAt);
  obr[24] = 'RAD';
  obr[25] = content.status;
  obr[32] = [esc(content.signer.id), esc(content.signer.name)].join(s);
  const lines = content.text.split('\n');
  const critical = content.critical ?? [];
  const abnormal = critical.length > 0 ? 'AA' : '';
  /** One OBX: set id, value type, observation id, value; the abnormal flag and result status of the report. */
  const obx = (setId: number, type: string, id: string, value: string) =>
    segment(['OBX', String(setId), type, id, '', value, '', '', abnormal, '', '', content.status]);
  return new Hl7Message(
    [
      segment([
        'MSH',
        context.getMsh2(),
        esc(content.sender.application),
        esc(content.sender.facility),
        esc(content.destination),
        '',
        formatHl7DateTime(new Date()),
        '',
        `ORU${c}R01${c}ORU_R01`,
        esc(content.controlId),
        'P',
        '2.5.1',
        '',
        '',
        'AL',
        'NE',
        '',
        'UNICODE UTF-8',
      ]),
      segment([
        'PID',
        '1',
        '',
        [esc(content.patient.id), '', '', esc(content.patient.issuer), 'MR'].join(c),
        '',
        xpn(content.patient.name, context),
        '',
        content.patient.birthDate ?? '',
        content.patient.sex ?? '',
      ]),
      segment(['ORC', 'RE', placer, filler, '', 'CM']),
      segment(obr),
      ...critical.map((line, i) => segment(['NTE', String(i + 1), 'L', esc(line)])),
      ...lines.map((line, i) => obx(i + 1, 'TX', `18782-3${c}Radiology Study observation (narrative)${c}LN`, esc(line))),
      ...(content.coded ?? []).map((coded, i) =>
        obx(lines.length + i + 1, 'ST', [esc(coded.value), esc(coded.meaning), esc(coded.scheme)].join(c), esc(coded.observation)),
      ),
      segment(['ZDS', `${esc(content.study.studyInstanceUid)}${c}${esc(content.sender.application)}${c}Application${c}DICOM`]),
    ],
    context,
  );
}
