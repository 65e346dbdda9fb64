/**
 * Cornerstone3D set-up, once per page: core, tools, the DICOM image loader (decoding in web workers),
 * the WADO-RS loader authenticated with the user's token, and `pacsoff:` — the same frames read from
 * the encrypted offline studies. Both schemes share the WADO-RS metadata (keyed by URI, scheme stripped),
 * so an offline image is decoded exactly like the online one.
 */
import { Enums as CoreEnums, cache, init as coreInit, imageLoader, metaData, type Types } from '@cornerstonejs/core';
import * as dicomImageLoader from '@cornerstonejs/dicom-image-loader';
import { addTool, LengthTool, PanTool, StackScrollTool, init as toolsInit, WindowLevelTool, ZoomTool } from '@cornerstonejs/tools';
import { accessToken } from './auth';
import { decodedCacheBytes } from './config';
import { pendingPaletteData, resolvePaletteData } from './decoding/bulkdata';
import {
  type Frame,
  fetchFrame,
  fetchFrameAsExplicitLE,
  fetchFrameFromInstance,
  instanceKey,
  isServerFailure,
  nativeFrameBytes,
} from './decoding/frames';
import { decodableFrame, loaderMisdecodes, seriesKey } from './decoding/jpeg-extended';
import { JPEG_LS, jpegLsPlanar } from './decoding/jpegls';
import { normalizeForImageLoader } from './decoding/metadata';
import { type DicomJson, extractFrame } from './dicom-json';
import { guardLoader } from './load-guard';
import type { OfflineStudies } from './offline-studies';

export const OFFLINE_SCHEME = 'pacsoff';
let ready: Promise<void> | null = null;
let offlineStudies: OfflineStudies | null = null;

export function setOfflineStudies(studies: OfflineStudies | null): void {
  offlineStudies = studies;
}

export function initCornerstone(): Promise<void> {
  ready ??= (async () => {
    coreInit();
    toolsInit();
    dicomImageLoader.init({
      maxWebWorkers: Math.max(1, Math.min(4, Math.floor((navigator.hardwareConcurrency || 2) / 2))),
      beforeSend: async (): Promise<Record<string, string>> => {
        try {
          return { Authorization: `Bearer ${await accessToken()}` };
        } catch {
          // No token (offline): the request fails with 401 and the viewport says so.
          return {};
        }
      },
    });
    cache.setMaxCacheSize(decodedCacheBytes());
    // guardLoader (load-guard.ts): a synchronous throw becomes a failed load the viewport reports.
    imageLoader.registerImageLoader(OFFLINE_SCHEME, guardLoader(loadOfflineImage) as unknown as Types.ImageLoaderFn);
    // WADO-RS through the image loader, with one Explicit VR Little Endian retry (decoding/frames.ts).
    imageLoader.registerImageLoader('wadors', guardLoader(loadWadorsImage) as unknown as Types.ImageLoaderFn);
    for (const tool of [WindowLevelTool, PanTool, ZoomTool, StackScrollTool, LengthTool]) addTool(tool);
  })();
  return ready;
}

function loadOfflineImage(imageId: string, options: Record<string, unknown>): Types.IImageLoadObject {
  const promise = (async () => {
    if (!offlineStudies) throw new Error('offline store not open');
    const uri = imageId.slice(OFFLINE_SCHEME.length + 1);
    const path = new URL(uri, window.location.origin).pathname;
    const stored = await offlineStudies.readFrame(path);
    if (!stored) throw new Error('This image is not on the device.');
    const frame = decodableFrame(stored); // 12-bit JPEG: decoded here (decoding/jpeg-extended.ts)
    const image = (await dicomImageLoader.createImage(imageId, frame.pixelData, frame.transferSyntax, options)) as Types.IImage;
    return image;
  })();
  return { promise, cancelFn: undefined } as unknown as Types.IImageLoadObject;
}

/** Instances whose frames come another way than the loader's own request (decoding/frames.ts). */
const frameRoutes = new Map<string, 'explicit-le' | 'instance'>();
/** Series stored as 12-bit JPEG, which the loader decodes wrong: fetched and decoded here (decoding/jpeg-extended.ts). */
const decodedHere = new Set<string>();

function loadWadorsImage(imageId: string, options: Record<string, unknown>): Types.IImageLoadObject {
  const uri = imageId.slice('wadors:'.length);
  const key = instanceKey(uri);
  const frameOne = dicomImageLoader.wadors.metaDataManager.get(`wadors:${key}/frames/1`) as unknown as DicomJson | undefined;
  if (pendingPaletteData(frameOne).length > 0) {
    // Palette tables first (decoding/bulkdata.ts), then the frame.
    const promise = paletteData(key, frameOne).then(() => loadWithFallbacks(imageId, options, frameOne).promise);
    return { promise, cancelFn: undefined } as unknown as Types.IImageLoadObject;
  }
  return loadWithFallbacks(imageId, options, frameOne);
}

function loadWithFallbacks(imageId: string, options: Record<string, unknown>, instance: DicomJson | undefined): Types.IImageLoadObject {
  const uri = imageId.slice('wadors:'.length);
  const key = instanceKey(uri);
  const decode = async (stored: Frame) => {
    const frame = decodableFrame(stored);
    return (await dicomImageLoader.createImage(imageId, frame.pixelData, frame.transferSyntax, options)) as Types.IImage;
  };
  const explicitLe = async () => decode(await fetchFrameAsExplicitLE(uri, await authHeaders(), nativeFrameBytes(instance)));
  const wholeInstance = async () =>
    decode(
      await fetchFrameFromInstance(uri, await authHeaders(), (dataSet, index) =>
        dicomImageLoader.wadouri.getPixelData(dataSet as never, index),
      ),
    );
  if (Number(instance?.['00280002']?.Value?.[0] ?? 1) > 1) {
    // Colour: fetched here so the codestream can be checked before decoding (decoding/jpegls.ts).
    const colour = async () => {
      const frame = frameRoutes.get(key)
        ? await (frameRoutes.get(key) === 'explicit-le'
            ? fetchFrameAsExplicitLE(uri, await authHeaders(), nativeFrameBytes(instance))
            : fetchFrameFromInstance(uri, await authHeaders(), (dataSet, index) =>
                dicomImageLoader.wadouri.getPixelData(dataSet as never, index),
              ))
        : await fetchFrame(uri, await authHeaders());
      if (JPEG_LS.has(frame.transferSyntax) && jpegLsPlanar(frame.pixelData) && instance) {
        const planar = instance['00280006'];
        if (planar) planar.Value = [1];
        else instance['00280006'] = { vr: 'US', Value: [1] };
      }
      return decode(frame);
    };
    const promise = colour().catch(async (error: unknown) => {
      if (!isServerFailure(error) || frameRoutes.get(key)) throw error;
      frameRoutes.set(key, 'explicit-le');
      return colour().catch(() => {
        frameRoutes.set(key, 'instance');
        return colour().catch(() => {
          frameRoutes.delete(key);
          throw error;
        });
      });
    });
    return { promise, cancelFn: undefined } as unknown as Types.IImageLoadObject;
  }
  const route = frameRoutes.get(key);
  if (route)
    return { promise: route === 'explicit-le' ? explicitLe() : wholeInstance(), cancelFn: undefined } as unknown as Types.IImageLoadObject;
  const series = seriesKey(uri);
  const here = async () => decode(await fetchFrame(uri, await authHeaders()));
  const first = decodedHere.has(series)
    ? null
    : (dicomImageLoader.wadors.loadImage(imageId, options) as unknown as { promise: Promise<Types.IImage>; cancelFn?: () => void });
  const checked = first
    ? first.promise.then((image) => {
        // The syntax is known only once the frame has come: this first one is fetched and decoded again.
        const bitsStored = Number(instance?.['00280101']?.Value?.[0]);
        if (!loaderMisdecodes((image as { transferSyntaxUID?: string }).transferSyntaxUID, bitsStored)) return image;
        decodedHere.add(series);
        return here();
      })
    : here();
  const promise = checked.catch(async (error: unknown) => {
    if (!isServerFailure(error)) throw error;
    try {
      const image = await explicitLe();
      frameRoutes.set(key, 'explicit-le');
      return image;
    } catch {
      const image = await wholeInstance().catch(() => {
        throw error;
      });
      frameRoutes.set(key, 'instance');
      return image;
    }
  });
  return { promise, cancelFn: first?.cancelFn } as unknown as Types.IImageLoadObject;
}

async function authHeaders(): Promise<Record<string, string>> {
  try {
    return { Authorization: `Bearer ${await accessToken()}` };
  } catch {
    return {};
  }
}

const paletteRequests = new Map<string, Promise<void>>();

function paletteData(key: string, instance: DicomJson | undefined): Promise<void> {
  let pending = paletteRequests.get(key);
  if (!pending) {
    pending = resolvePaletteData(instance, async (uri) => {
      const path = new URL(uri, window.location.origin).pathname;
      const response = await fetch(`${window.location.origin}${path}`, {
        headers: { ...(await authHeaders()), Accept: 'multipart/related; type="application/octet-stream"' },
      });
      if (!response.ok) throw Object.assign(new Error(`palette lookup table: HTTP ${response.status}`), { status: response.status });
      return extractFrame(response.headers.get('content-type') ?? '', new Uint8Array(await response.arrayBuffer())).pixelData;
    }).catch((error: unknown) => {
      paletteRequests.delete(key);
      throw error;
    });
    paletteRequests.set(key, pending);
  }
  return pending;
}

/** One frame's pixel data out of a parsed Part-10 instance (the offline download's last resort, decoding/frames.ts). */
export function instanceFramePixels(dataSet: unknown, frameIndex: number): Uint8Array {
  return dicomImageLoader.wadouri.getPixelData(dataSet as never, frameIndex);
}

/** Starts loading an image into the decoded cache ahead of its viewport; the viewport reports any failure itself. */
export function preloadImage(imageId: string): void {
  imageLoader.loadAndCacheImage(imageId).catch(() => undefined);
}

/** Registers the WADO-RS metadata of each instance (frame 1 imageId; multi-frame derives the rest). */
export function addInstanceMetadata(frameOneUri: string, instance: DicomJson): void {
  dicomImageLoader.wadors.metaDataManager.add(
    `wadors:${frameOneUri}`,
    normalizeForImageLoader(instance) as unknown as Parameters<typeof dicomImageLoader.wadors.metaDataManager.add>[1],
  );
}

export { CoreEnums, metaData };
