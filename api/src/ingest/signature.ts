/**
 * Webhook authenticity: `X-Pacs-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`
 * with `X-Pacs-Timestamp` (unix seconds). Stale timestamps and replays of a seen signature are
 * refused.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const MAX_SKEW_SECONDS = 300;

export function signWebhook(secret: string, timestamp: string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex')}`;
}

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

export class WebhookVerifier {
  private readonly seen = new Map<string, number>();

  constructor(private readonly secret: string) {}

  verify(
    timestamp: string | undefined,
    signature: string | undefined,
    body: Buffer,
    nowSeconds = Math.floor(Date.now() / 1000),
  ): SignatureCheck {
    if (!timestamp || !/^\d{9,11}$/.test(timestamp)) return { ok: false, reason: 'missing or malformed timestamp' };
    if (!signature || !/^sha256=[0-9a-f]{64}$/.test(signature)) return { ok: false, reason: 'missing or malformed signature' };
    if (Math.abs(nowSeconds - Number(timestamp)) > MAX_SKEW_SECONDS) return { ok: false, reason: 'timestamp outside the accepted window' };
    const expected = Buffer.from(signWebhook(this.secret, timestamp, body));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { ok: false, reason: 'signature does not match' };
    this.forgetOld(nowSeconds);
    if (this.seen.has(signature)) return { ok: false, reason: 'replayed request' };
    this.seen.set(signature, Number(timestamp));
    return { ok: true };
  }

  private forgetOld(nowSeconds: number): void {
    for (const [signature, at] of this.seen) {
      if (nowSeconds - at > MAX_SKEW_SECONDS * 2) this.seen.delete(signature);
    }
  }
}
