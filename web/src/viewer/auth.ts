/**
 * The user's access token for /dicom-web. The API client keeps its token private; it announces every
 * confirmation (login, refresh here or in another tab) through onConfirmed, so the viewer remembers the
 * latest one and asks for a refresh only when it has none or it is about to expire.
 */
import { api } from '../api/client';
import type { PathFetcher } from './offline-store';

let current: { value: string; expiresAt: number } | null = null;
api.onConfirmed((session) => {
  current = { value: session.accessToken, expiresAt: Date.now() + session.expiresIn * 1000 };
});
api.onSessionEnd(() => {
  current = null;
});

export async function accessToken(): Promise<string> {
  if (!current || current.expiresAt - Date.now() < 15_000) await api.refresh();
  if (!current) throw new Error('no access token');
  return current.value;
}

/** GET with the user's token; one retry after a refresh on 401. */
export const authFetch: PathFetcher = async (path, { accept, signal }) => {
  const get = async () =>
    fetch(path, {
      headers: { accept, authorization: `Bearer ${await accessToken()}` },
      credentials: 'same-origin',
      cache: 'no-store',
      signal,
    });
  let response = await get();
  if (response.status === 401) {
    current = null;
    response = await get();
  }
  return response;
};
