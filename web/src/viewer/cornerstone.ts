/**
 * Cornerstone3D set-up, once per page: core, tools, the DICOM image loader (decoding in web workers),
 * the WADO-RS loader authenticated with the user's token, and `pacsoff:` — the same frames read from
 * the encrypted offline store. Both schemes share the WADO-RS metadata (keyed by URI, scheme stripped),
 * so an offline image is decoded exactly like the online one.
 */
import { Enums as CoreEnums, cache, init as coreInit, imageLoader, metaData, type Types } from '@cornerstonejs/core';
import * as dicomImageLoader from '@cornerstonejs/dicom-image-loader';
import { addTool, LengthTool, PanTool, StackScrollTool, init as toolsInit, WindowLevelTool, ZoomTool } from '@cornerstonejs/tools';
import { accessToken } from './auth';
import { decodedCacheBytes } from './config';
import type { DicomJson } from './dicom-json';
import type { OfflineStore } from './offline-store';

export const OFFLINE_SCHEME = 'pacsoff';
let ready: Promise<void> | null = null;
let offlineStore: OfflineStore | null = null;

export function setOfflineStore(store: OfflineStore | null): void {
  offlineStore = store;
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
    imageLoader.registerImageLoader(OFFLINE_SCHEME, loadOfflineImage as unknown as Types.ImageLoaderFn);
    for (const tool of [WindowLevelTool, PanTool, ZoomTool, StackScrollTool, LengthTool]) addTool(tool);
  })();
  return ready;
}

function loadOfflineImage(imageId: string, options: Record<string, unknown>): Types.IImageLoadObject {
  const promise = (async () => {
    if (!offlineStore) throw new Error('offline store not open');
    const uri = imageId.slice(OFFLINE_SCHEME.length + 1);
    const path = new URL(uri, window.location.origin).pathname;
    const frame = await offlineStore.readFrame(path);
    if (!frame) throw new Error('This image is not on the device.');
    const image = (await dicomImageLoader.createImage(imageId, frame.pixelData, frame.transferSyntax, options)) as Types.IImage;
    return image;
  })();
  return { promise, cancelFn: undefined } as unknown as Types.IImageLoadObject;
}

/** Registers the WADO-RS metadata of each instance (frame 1 imageId; multi-frame derives the rest). */
export function addInstanceMetadata(frameOneUri: string, instance: DicomJson): void {
  dicomImageLoader.wadors.metaDataManager.add(
    `wadors:${frameOneUri}`,
    instance as unknown as Parameters<typeof dicomImageLoader.wadors.metaDataManager.add>[1],
  );
}

export { CoreEnums, metaData };
