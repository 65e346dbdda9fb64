/**
 * Hostile request targets for the DICOMweb proxy (every spelling of a way out of /dicom-web), and a
 * raw HTTP client that sends them byte for byte: fetch() and http.request() would resolve dot
 * segments or refuse non-ASCII before the server ever saw them.
 */
import net from 'node:net';

export interface HostileContext {
  /** A study the user may open. */
  studyA: string;
  /** Another study's series and Orthanc ids (what a traversal would reach for). */
  studyB: string;
  seriesB: string;
  orthancStudyA: string;
  orthancPatientB: string;
}

/** Request targets below `/dicom-web` that must never reach anything but a 4xx. */
export function hostileTargets(c: HostileContext): string[] {
  const S = c.studyA;
  const inst = `/studies/${S}/series/${c.seriesB}/instances/${c.studyB}.9`;
  return [
    '/%2e%2e/system',
    '/..%2fsystem',
    '/..%5csystem',
    '/.%2e/system',
    '/%2e./system',
    '/..\\system',
    '/../system',
    '/./studies',
    '/%2E%2E/patients',
    '/..%5c..%5cpatients',
    '/..%5C..%5Cpatients',
    `/%2e%2e/studies/${c.orthancStudyA}/archive`,
    `/studies/${S}/%2e%2e/%2e%2e/%2e%2e/patients/${c.orthancPatientB}/archive`,
    `/studies/${S}/../../../patients/${c.orthancPatientB}/archive`,
    `/studies/${S}/..%2f${c.studyB}/metadata`,
    `/studies/${S}/..%2F${c.studyB}/metadata`,
    `/studies/${S}/../${c.studyB}/metadata`,
    `/studies/${S}%2f..%2f..%2fsystem`,
    '/%252e%252e/system',
    `/studies/${S}/%252e%252e/${c.studyB}/metadata`,
    '/%c0%ae%c0%ae/system',
    '/%c0%2e%c0%2e/system',
    '/%e0%80%ae%e0%80%ae/system',
    `/studies/${S}%00/metadata`,
    `/studies/${S}/metadata%00`,
    '/%00/../system',
    `/studies/${S};jsessionid=1/metadata`,
    `/studies/${S}/metadata;x=y`,
    '/..;/system',
    `//studies/${S}/metadata`,
    `/studies//${S}/metadata`,
    `/studies/${S}/`,
    '/http://127.0.0.1:8042/system',
    '/http:%2f%2f127.0.0.1:8042%2fsystem',
    `/studies/${'1.'.repeat(1500)}1/metadata`,
    `/studies/${S}/${'a/'.repeat(1200)}metadata`,
    '/studies/\u2024\u2024/metadata',
    '/\uff0e\uff0e/system',
    '/%e2%80%a4%e2%80%a4/system',
    '/%ef%bc%8e%ef%bc%8e/system',
    `${inst}/frames/1/../../../../metadata`,
    `${inst}/frames/1%2f..%2f..%2f..%2f..%2fmetadata`,
    `${inst}/bulk/%2e%2e%2f%2e%2e%2ffile`,
    `${inst}/file`,
    '/system',
    '/patients',
    '/tools/find',
    '/servers',
    '/servers/remote/get',
    '/instances/abc/file',
    `/series/${c.orthancStudyA}/archive`,
    `/studies/${c.orthancStudyA}/archive`,
    `/studies/${S}/archive`,
    `/studies/${S}/media`,
    `/studies/1..2/metadata`,
    `/studies/.1.2/metadata`,
    `/studies/${S}%zz/metadata`,
    '/%',
    `/studies/${S}/series/${c.seriesB}/instances/${c.studyB}.9/frames/0`,
    `/studies/${S}/series/${c.seriesB}/instances/${c.studyB}.9/frames/1,,2`,
    `/studies?PatientID=%00`,
    `/studies?includefield=../../system`,
  ];
}

export interface RawReply {
  status: number;
  head: string;
  body: string;
}

/** One request written verbatim (UTF-8) on a new connection; the whole answer read until close. */
export function rawRequest(port: number, target: string, headers: Record<string, string> = {}, method = 'GET'): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.setTimeout(30_000, () => socket.destroy(new Error(`no answer to ${method} ${target.slice(0, 80)}`)));
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      const head = end < 0 ? text : text.slice(0, end);
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
      resolve({ status, head, body: end < 0 ? '' : text.slice(end + 4) });
    });
    const lines = [`${method} ${target} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close'];
    for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
    // Not end(): a server may drop a half-closed connection before answering. It closes (Connection: close).
    socket.write(Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'utf8'));
  });
}
