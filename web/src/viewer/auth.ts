/**
 * The user's access token for /dicom-web: the one the API client holds (login, refresh here or in
 * another tab), refreshed only when it is missing or about to expire. Not a copy kept from the
 * client's events: this module loads with the viewer, after the session was confirmed, and a copy
 * made a second refresh on every page load.
 */
import { api } from '../api/client';
import type { PathFetcher } from './offline-studies';

const MARGIN_MS = 15_000;

export async function accessToken(): Promise<string> {
  const held = api.heldAccessToken(MARGIN_MS);
  if (held) return held;
  await api.refresh();
  const fresh = api.heldAccessToken();
  if (!fresh) throw new Error('no access token');
  return fresh;
}

/** GET with the user's token; one retry after a refresh on 401. */
export const authFetch: PathFetcher = async (path, { accept, signal }) => {
  const get = async (token: string) =>
    fetch(path, {
      headers: { accept, authorization: `Bearer ${token}` },
      credentials: 'same-origin',
      cache: 'no-store',
      signal,
    });
  let response = await get(await accessToken());
  if (response.status === 401) {
    await api.refresh();
    response = await get(await accessToken());
  }
  return response;
};
