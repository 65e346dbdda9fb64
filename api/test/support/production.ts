/** The settings a production start requires, with strong throwaway values for tests. */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A throwaway report-signing key, made once per test process (production names a key file). */
let signingKeyFile: string | undefined;
function productionSigningKeyFile(): string {
  if (!signingKeyFile) {
    signingKeyFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'pacs-prod-key-')), 'report-signing.pem');
    writeFileSync(signingKeyFile, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  }
  return signingKeyFile;
}

export const PRODUCTION_ADMIN_PASSWORD = 'Prod-admin-pass-7f3c9a21';

export function productionEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PACS_ENV: 'production',
    PACS_JWT_SECRET: 'c2V0LWluLXByb2R1Y3Rpb24tOTk4ODc3NjY1NTQ0MzMyMjExMDA',
    PACS_ADMIN_PASSWORD: PRODUCTION_ADMIN_PASSWORD,
    PACS_METRICS_TOKEN: 'metrics-token-0123456789abcdef',
    PACS_SYNC_SERVICE_TOKEN: 'sync-service-token-0123456789abcdefghijklmnop',
    PACS_DOCUMENT_TOKEN_SECRET: 'document-token-secret-0123456789abcdefghijkl',
    PACS_MFA_SECRET_KEY: 'mfa-secret-key-0123456789abcdefghijklmnopq',
    PACS_REPORT_SIGNING_KEY_FILE: productionSigningKeyFile(),
    ...extra,
  };
}
