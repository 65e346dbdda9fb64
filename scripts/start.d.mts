import type { Supervisor } from './supervisor.mjs';

export function start(): Promise<void>;

/** The development secrets kept in `dataDir/dev-secrets.json` (created on first use, 0600). */
export function developmentSecrets(dataDir: string): Record<string, string>;

/** The settings every service of `npm start` gets, for these ports. */
export function sharedEnvironment(options: {
  dataDir: string;
  secrets: Record<string, string>;
  apiPort: number;
  syncPort: number;
  orthancHttpPort: number;
  dicomPort: number;
}): Record<string, string>;

/** True once `url` answers 2xx; false if the supervisor is stopping; throws after `deadlineMs`. */
export function waitForHealth(supervisor: Supervisor, url: string, deadlineMs: number, headers?: Record<string, string>): Promise<boolean>;
