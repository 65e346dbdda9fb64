/**
 * Syslog framing for the audit repository: an RFC 5424 message (facility authpriv, severity
 * notice, as IHE ATNA asks; MSGID IHE+RFC-3881), sent with RFC 6587 octet counting, which RFC 5425
 * uses over TLS too: `LENGTH SP MESSAGE`, the length in bytes.
 */
const PRI = 10 * 8 + 5;

/** RFC 5424 names: printable US-ASCII without spaces, at most `max` characters, or '-'. */
function header(value: string, max: number): string {
  const clean = value.replace(/[^\x21-\x7e]/g, '').slice(0, max);
  return clean === '' ? '-' : clean;
}

export function syslogFrame(xml: string, options: { at: Date; hostname: string; appName: string; procId: string }): Buffer {
  const message = `<${PRI}>1 ${options.at.toISOString()} ${header(options.hostname, 255)} ${header(options.appName, 48)} ${header(options.procId, 128)} IHE+RFC-3881 - ${xml}`;
  const body = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `, 'ascii'), body]);
}
