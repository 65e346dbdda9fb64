export const OHIF_VERSION: string;
export const OHIF_CACHE: string;
export const OHIF_DIST: string;
export function ensureOhifDist(): string;
