/**
 * The key that unlocks a device's vault (web/src/device/vault): everything the web app keeps with
 * patient data is encrypted under a data key that the device stores only wrapped, under this key.
 * It is derived (HKDF) from PACS_MFA_SECRET_KEY, the user and the device's row, so nothing new is
 * stored, and it is handed out only to a session on that device that proved the device's secret:
 * a copy of the device's storage alone (no live session, or a revoked device) cannot open it.
 */
import { hkdfSync } from 'node:crypto';

export function deviceVaultKey(secret: string, userId: string, deviceId: string): string {
  return Buffer.from(hkdfSync('sha256', secret, 'pacs', `device-vault-key:${userId}:${deviceId}`, 32)).toString('base64url');
}
