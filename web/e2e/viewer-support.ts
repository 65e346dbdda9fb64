/**
 * Viewer e2e support: the same system as support.ts (e2e/server.mjs: real API + gateway) but with a real
 * Orthanc (PACS_E2E_ORTHANC=1) so studies go the whole way: generated DICOM → C-STORE → ingestion →
 * /dicom-web proxy → Cornerstone3D in Chromium.
 */
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import type { Page } from 'playwright-core';
import { WEB } from './support';

const ROOT = path.resolve(WEB, '..');

export interface DicomStudy {
  id: string;
  studyInstanceUid: string;
  series: { seriesInstanceUid: string; instances: number; description: string }[];
  files: number;
}

export interface ViewerSystem {
  url: string;
  storeStudy(spec: Record<string, unknown>, seed?: number): Promise<DicomStudy>;
  stop(): Promise<void>;
}

export async function startViewerSystem(): Promise<ViewerSystem> {
  if (!existsSync(path.join(WEB, 'dist', 'index.html'))) {
    const build = spawnSync(path.join(ROOT, 'node_modules', '.bin', 'vite'), ['build'], { cwd: WEB, stdio: 'inherit' });
    if (build.status !== 0) throw new Error('vite build failed');
  }
  const child: ChildProcessWithoutNullStreams = spawn(
    path.join(ROOT, 'node_modules', '.bin', 'tsx'),
    [path.join(WEB, 'e2e', 'server.mjs')],
    {
      cwd: path.join(ROOT, 'api'),
      env: { ...process.env, PACS_LOG_LEVEL: 'warn', PACS_E2E_ORTHANC: '1' },
    },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
    if (process.env.E2E_VERBOSE) process.stderr.write(chunk);
  });
  const waiting = new Map<number, (value: unknown) => void>();
  let nextId = 1;
  const { url } = await new Promise<{ url: string }>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`e2e server exited early (${code}): ${stderr}`)));
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith('READY ')) resolve(JSON.parse(line.slice(6)) as { url: string });
      const done = /^DONE (\d+) (.*)$/.exec(line);
      if (done) waiting.get(Number(done[1]))?.(JSON.parse(done[2]!));
    });
  });
  for (;;) {
    const response = await fetch(`${url}/health/ready`).catch(() => null);
    if (response?.ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const command = (body: Record<string, unknown>) =>
    new Promise<unknown>((resolve, reject) => {
      const id = nextId++;
      waiting.set(id, (value) => {
        waiting.delete(id);
        const error = (value as { error?: string } | null)?.error;
        if (error) reject(new Error(error));
        else resolve(value);
      });
      child.stdin.write(`${JSON.stringify({ id, ...body })}\n`);
    });
  return {
    url,
    storeStudy: (spec, seed = 1) => command({ dicomStudy: { spec, seed } }) as Promise<DicomStudy>,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

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
