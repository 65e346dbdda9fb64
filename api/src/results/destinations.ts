/** Where signed results go: HL7 receivers (PACS_HL7_RESULT_DESTINATIONS) and the DICOM archive. */
import type { OutboxAttributes } from '../db/order-models';

/** An HL7 receiver as configured. */
export interface ResultDestination {
  /** MSH-5, and how the admin view names it. */
  name: string;
  host: string;
  port: number;
}

/** `RIS@10.1.2.3:2576,EMR@emr.example:6661` → destinations. Throws naming the bad entry. */
export function parseDestinations(value: string): ResultDestination[] {
  return value
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map((entry) => {
      const match = /^([A-Za-z0-9_.-]{1,64})@([A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]+\]):(\d{1,5})$/.exec(entry);
      const port = Number(match?.[3]);
      if (!match || port < 1 || port > 65535) throw new Error(`'${entry}' is not NAME@host:port`);
      return { name: match[1]!, host: match[2]!.replace(/^\[|\]$/g, ''), port };
    });
}

/** The outbox's name for the DICOM archive; the colon keeps it apart from any HL7 destination's name. */
export const ARCHIVE_DESTINATION = 'archive:orthanc';
/** The outbox's message type of a signed report stored in the archive as an Encapsulated PDF. */
export const ARCHIVE_MESSAGE_TYPE = 'DICOM-PDF';

/** How one attempt went. `permanent` failures are not retried (the row dies for an admin to see). */
export type Delivery = { ok: true; ackCode: string } | { ok: false; ackCode: string; error: string; permanent: boolean };

/** One place the dispatcher delivers outbox rows to. */
export interface Destination {
  readonly name: string;
  deliver(row: OutboxAttributes): Promise<Delivery>;
  close(): Promise<void>;
}
