/**
 * Keeps Orthanc from transcoding JPEG 2000.
 *
 * Orthanc 1.10 decodes JPEG 2000 with the GDCM plugin (orthanc-gdcm), which is what makes /rendered
 * work for those images. Transcoding them (a client asking for frames or instances in another
 * transfer syntax) runs GDCM's writer, whose stack frame (~130 KB) is larger than the stack of
 * Debian civetweb's HTTP worker threads (100 KB): Orthanc crashes or corrupts another thread's stack
 * within a few requests. Such requests are answered 406 here and never reach Orthanc; asking for
 * `transfer-syntax=*` (what the viewer and OHIF do) or for /rendered works.
 */
import type { OrthancClient } from '../ingest/orthanc-client';
import type { DicomwebRoute } from './route-parser';

/** JPEG 2000 (Part 1 and Part 2) and HTJ2K. */
const JPEG_2000 = new Set([
  '1.2.840.10008.1.2.4.90',
  '1.2.840.10008.1.2.4.91',
  '1.2.840.10008.1.2.4.92',
  '1.2.840.10008.1.2.4.93',
  '1.2.840.10008.1.2.4.201',
  '1.2.840.10008.1.2.4.202',
  '1.2.840.10008.1.2.4.203',
]);
/** Instances looked at for one series or study retrieval; a larger one in a named syntax is refused. */
const MAX_CHECKED_INSTANCES = 2000;
/** Stored transfer syntaxes remembered (an instance's never changes): ~100 bytes each. */
const MAX_REMEMBERED = 100_000;

export class TranscodingRefused extends Error {
  override name = 'TranscodingRefused';
}

/**
 * Whether Orthanc may have to transcode for this Accept header: every offer names a transfer
 * syntax other than `*`, or names none (DICOMweb's default is then Explicit VR Little Endian).
 */
export function mayTranscode(accept: string | undefined): boolean {
  if (!accept) return true;
  return !/transfer-syntax\s*=\s*"?\*"?/i.test(accept);
}

/** Transfer syntaxes a retrieval would need transcoding to, or none when it asks for what is stored. */
function namedSyntaxes(accept: string | undefined): Set<string> {
  return new Set([...(accept ?? '').matchAll(/transfer-syntax\s*=\s*"?([0-9.]+)"?/gi)].map((m) => m[1]!));
}

export class TranscodingGuard {
  /** Orthanc instance id → stored transfer syntax, so a client fetching frame after frame asks Orthanc once. */
  private readonly syntaxes = new Map<string, string>();

  constructor(private readonly orthanc: OrthancClient) {}

  /** Throws TranscodingRefused when `route` with this Accept would make Orthanc transcode JPEG 2000. */
  async check(route: DicomwebRoute, accept: string | undefined): Promise<void> {
    if (route.type !== 'retrieve' || (route.kind !== 'frames' && route.kind !== 'dicom') || !mayTranscode(accept)) return;
    const named = namedSyntaxes(accept);
    const uid = route.instance ?? route.series ?? route.study;
    const level = route.instance ? 'Instance' : route.series ? 'Series' : 'Study';
    const id = await this.lookup(uid, level);
    if (!id) return; // unknown to Orthanc: it answers 404 itself
    const instances = level === 'Instance' ? [id] : await this.instancesOf(id, level);
    if (instances.length > MAX_CHECKED_INSTANCES) throw new TranscodingRefused('too many instances to check; ask for transfer-syntax=*');
    for (const instance of instances) {
      const stored = await this.transferSyntaxOf(instance);
      if (JPEG_2000.has(stored) && !named.has(stored)) {
        throw new TranscodingRefused(
          `JPEG 2000 images are served in their stored transfer syntax (${stored}) only: ask for transfer-syntax=* or /rendered`,
        );
      }
    }
  }

  private async lookup(uid: string, level: string): Promise<string | null> {
    const response = await this.orthanc.fetch('/tools/lookup', { method: 'POST', body: uid });
    if (!response.ok) {
      await response.body?.cancel();
      return null;
    }
    const found = (await response.json()) as { ID?: string; Type?: string }[];
    return found.find((r) => r.Type === level)?.ID ?? null;
  }

  private async instancesOf(id: string, level: 'Series' | 'Study'): Promise<string[]> {
    const response = await this.orthanc.fetch(`/${level === 'Series' ? 'series' : 'studies'}/${encodeURIComponent(id)}/instances`);
    if (!response.ok) {
      await response.body?.cancel();
      return [];
    }
    return ((await response.json()) as { ID: string }[]).map((i) => i.ID);
  }

  private async transferSyntaxOf(instanceId: string): Promise<string> {
    const known = this.syntaxes.get(instanceId);
    if (known !== undefined) return known;
    const response = await this.orthanc.fetch(`/instances/${encodeURIComponent(instanceId)}/metadata/TransferSyntax`);
    if (!response.ok) {
      await response.body?.cancel();
      return '';
    }
    const syntax = (await response.text()).trim();
    if (this.syntaxes.size >= MAX_REMEMBERED) this.syntaxes.clear();
    this.syntaxes.set(instanceId, syntax);
    return syntax;
  }
}
