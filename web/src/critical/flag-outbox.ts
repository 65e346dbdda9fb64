/**
 * Critical-result flags raised offline: kept on the device with an id of their own and sent when
 * a connection returns. The server records a replayed id once, so sending twice is harmless. A
 * refusal (4xx) marks the flag failed for the user to see; a network error leaves it pending.
 */
import type { CriticalCategory, CriticalFlagRequest, CriticalResult } from '@pacs/shared';
import { ApiError, api, NetworkError } from '../api/client';
import type { PendingCriticalFlag, WorklistDb } from '../device/db';

export async function raiseFlag(
  db: WorklistDb,
  reportId: string,
  flag: { category: CriticalCategory; message: string },
): Promise<{ sent: CriticalResult } | { queued: PendingCriticalFlag }> {
  const pending: PendingCriticalFlag = {
    clientId: crypto.randomUUID(),
    reportId,
    category: flag.category,
    message: flag.message,
    raisedAt: new Date().toISOString(),
    state: 'pending',
  };
  // Stored first: a tab closed while the request is in flight still sends it later.
  await db.sealed.criticalFlags.put(pending);
  try {
    const sent = await send(pending);
    await db.criticalFlags.delete(pending.clientId);
    return { sent };
  } catch (error) {
    if (error instanceof NetworkError) return { queued: pending };
    await db.criticalFlags.delete(pending.clientId);
    throw error;
  }
}

function send(flag: PendingCriticalFlag): Promise<CriticalResult> {
  const body: CriticalFlagRequest = { category: flag.category, message: flag.message, clientId: flag.clientId, raisedAt: flag.raisedAt };
  return api.request<CriticalResult>('POST', `/api/reports/${encodeURIComponent(flag.reportId)}/critical-results`, body);
}

/** Sends every pending flag; resolves with how many the server took. Stops at the first network error. */
export async function flushFlags(db: WorklistDb): Promise<number> {
  let sent = 0;
  for (const flag of await db.sealed.criticalFlags.toArray()) {
    if (flag.state !== 'pending') continue;
    try {
      await send(flag);
      await db.criticalFlags.delete(flag.clientId);
      sent += 1;
    } catch (error) {
      if (error instanceof NetworkError) break;
      await db.sealed.criticalFlags.put({ ...flag, state: 'failed', error: error instanceof ApiError ? error.message : String(error) });
    }
  }
  return sent;
}
