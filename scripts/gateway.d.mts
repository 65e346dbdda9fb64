import type { Server } from 'node:http';

export interface Upstream {
  host: string;
  port: number;
}

export interface GatewayOptions {
  port: number;
  host: string;
  /** A function is read per request. */
  webRoot: string | (() => string);
  /** Several targets for one prefix are taken in turn (round robin). */
  upstreams: [prefix: string, target: Upstream | Upstream[]][];
  /** One line per failure, never with the URL; default: stderr. */
  log?: (line: string) => void;
  securityHeadersFile?: string;
}

export function startGateway(options: GatewayOptions): Promise<Server>;

/** The one origin's routes: the API's prefixes and the sync-server's (each one instance or several). */
export function serviceUpstreams(api: Upstream | Upstream[], sync: Upstream | Upstream[]): GatewayOptions['upstreams'];

/** nginx's static-file security headers (web/nginx/security-headers.conf) for plain http. */
export function readSecurityHeaders(file?: string): Record<string, string>;
