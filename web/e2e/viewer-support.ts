/**
 * Viewer e2e support: the same system as support.ts (e2e/server.mjs: real API + gateway) but with a real
 * Orthanc (PACS_E2E_ORTHANC=1) so studies go the whole way: generated DICOM → C-STORE → ingestion →
 * /dicom-web proxy → Cornerstone3D in Chromium.
 */
import type { Page } from 'playwright-core';
import { type System, startSystem } from './support';

export type { DicomStudy } from './support';
export type ViewerSystem = System;

/** The e2e system with a real Orthanc, so studies go generated DICOM → C-STORE → ingestion → viewer. */
export const startViewerSystem = () => startSystem({ orthanc: true });

export interface ViewerState {
  index: number;
  count: number;
  imageId: string;
  voi: { lower: number; upper: number } | null;
  lengths: number[];
  lengthPoints: number[][][];
  pixelSpacing: number[];
  dimensions: number[] | null;
}

type Hook = {
  state(): ViewerState | null;
  source(): string | null;
  imageToPage(x: number, y: number): { x: number; y: number } | null;
  scalarHash(): { hash: number; length: number } | null;
  canvasStats(): { width: number; height: number; nonBlackFraction: number; levels: number; hash: number } | null;
};

export function viewerState(page: Page): Promise<ViewerState | null> {
  return page.evaluate(() => (window as unknown as { __pacsViewer?: Hook }).__pacsViewer?.state() ?? null);
}
export function canvasStats(page: Page) {
  return page.evaluate(() => (window as unknown as { __pacsViewer?: Hook }).__pacsViewer?.canvasStats() ?? null);
}
export function scalarHash(page: Page) {
  return page.evaluate(() => (window as unknown as { __pacsViewer?: Hook }).__pacsViewer?.scalarHash() ?? null);
}
export function imageToPage(page: Page, x: number, y: number) {
  return page.evaluate(([px, py]) => (window as unknown as { __pacsViewer?: Hook }).__pacsViewer?.imageToPage(px!, py!) ?? null, [x, y]);
}

/** Waits until the viewport shows an image (no loading/error message, a state to read). */
export async function waitForImage(page: Page, timeout = 30_000): Promise<ViewerState> {
  await page.waitForFunction(
    () => {
      const hook = (window as unknown as { __pacsViewer?: Hook }).__pacsViewer;
      return !!hook?.state() && !document.querySelector('[data-testid="viewport-message"]');
    },
    undefined,
    { timeout },
  );
  return (await viewerState(page))!;
}

/** A generated CT study: 256×256, chest phantom (PixelSpacing 380/256 mm), HU with RescaleIntercept -1024. */
export function ctSpec(accession: string, instances = 12) {
  return {
    patient: { name: 'Viewer^Test', id: `PID-${accession}`, birthDate: '19700101', sex: 'F' },
    studyDate: '20261101',
    studyTime: '101500',
    accessionNumber: accession,
    description: 'CT CHEST',
    priority: 'ROUTINE',
    series: [{ modality: 'CT', description: 'Axial chest', instances, bodyPart: 'CHEST' }],
  };
}
export const CT_PIXEL_SPACING_MM = 380 / 256;
