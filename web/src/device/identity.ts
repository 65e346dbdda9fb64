/**
 * This browser's device identity: an id and a 256-bit secret, made at the first run and kept in
 * localStorage (not in a user's database, which a logout or a wipe deletes). Every sign-in and
 * refresh names it, so the server can list the device, and tell it to wipe once it is revoked.
 * The server may register the device under another id (when the one presented was not free): the
 * id it answers replaces ours; the secret never changes until a wipe has been reported.
 */
import type { DeviceCredentials } from '@pacs/shared';

const IDENTITY = 'pacs.device';

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
}

function create(): DeviceCredentials {
  const identity = { id: crypto.randomUUID(), secret: base64url(crypto.getRandomValues(new Uint8Array(32))) };
  localStorage.setItem(IDENTITY, JSON.stringify(identity));
  return identity;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** This device's identity, made now if there is none (or the stored one is damaged). */
export function deviceIdentity(): DeviceCredentials {
  try {
    const stored = JSON.parse(localStorage.getItem(IDENTITY) ?? 'null') as Partial<DeviceCredentials> | null;
    if (
      stored &&
      typeof stored.id === 'string' &&
      UUID.test(stored.id) &&
      typeof stored.secret === 'string' &&
      /^[A-Za-z0-9_-]{43}$/.test(stored.secret)
    ) {
      return { id: stored.id, secret: stored.secret };
    }
  } catch {
    // damaged: a new identity below
  }
  return create();
}

/** The id the server registered this device under. */
export function adoptDeviceId(id: string): void {
  const current = deviceIdentity();
  if (current.id !== id && UUID.test(id)) localStorage.setItem(IDENTITY, JSON.stringify({ ...current, id }));
}

/** After a reported wipe: the revoked identity is done with; the next sign-in is a new device. */
export function renewDeviceIdentity(): DeviceCredentials {
  return create();
}
