/**
 * Sign-in secrets at rest (TOTP secrets, the identity provider's tokens): AES-256-GCM under a key
 * derived (HKDF) from PACS_MFA_SECRET_KEY, one key per purpose, so a copy of the database alone
 * does not let anyone generate a user's codes or act at the provider as them.
 * `v1.` + base64url(iv|tag|data).
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

export class SecretBox {
  private readonly key: Buffer;

  constructor(secret: string, purpose: 'totp-secret-encryption' | 'idp-token-encryption') {
    this.key = Buffer.from(hkdfSync('sha256', secret, 'pacs', purpose, 32));
  }

  seal(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return `v1.${Buffer.concat([iv, cipher.getAuthTag(), data]).toString('base64url')}`;
  }

  /** Null when the value was sealed under another key or altered. */
  open(sealed: string): string | null {
    if (!sealed.startsWith('v1.')) return null;
    const raw = Buffer.from(sealed.slice(3), 'base64url');
    if (raw.length < 29) return null;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(12, 28));
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    } catch {
      return null;
    }
  }
}
