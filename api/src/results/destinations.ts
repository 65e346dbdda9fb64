/** Where signed results are sent (PACS_HL7_RESULT_DESTINATIONS). */
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
