import type { SpawnSyncOptions, SpawnSyncReturns } from 'node:child_process';

export const CONTAINERS_CONF: string;
export function podmanEnv(env?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
export function podman(args: string[], options?: SpawnSyncOptions): SpawnSyncReturns<string>;
export function imageExists(name: string): boolean;
export function ensureContainerTools(): void;
export const LOCAL_BASES: {
  debian: string;
  node: string;
  nginx: string;
  orthanc: string;
  redis: string;
  postgres: string;
};
export const STACK_IMAGES: Record<
  'api' | 'sync-server' | 'web' | 'orthanc',
  { tag: string; dockerfile: string; args: Record<string, string> }
>;
export function makeBaseImages(options?: { rebuild?: boolean }): void;
export function buildStackImages(names?: string[]): void;
