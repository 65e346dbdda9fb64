/**
 * The device vault: one data key per user and device that encrypts everything this app keeps with
 * patient data (worklist rows, study details, the outbox's copies of rows, report documents and
 * their pending updates, report metadata, measurements, offline images, the offline-reads log).
 *
 * The data key is never stored in the clear: the vault database holds it wrapped under the
 * server's vault key (handed out at sign-in and at each refresh that proves the device) and,
 * once the user sets one, under their PIN or passphrase, for reloads without a network. The PIN
 * copy lives only until the offline limit (counted from the last confirmation by the server);
 * every wrong PIN is counted before it is tried, and the fifth wipes the user's data on the
 * device. So a copy of the browser's storage opens nothing without a live session on this device
 * or the PIN within the offline limit.
 */
import Dexie, { type Table } from 'dexie';
import { dbNameFor } from '../db';
import { forgetHeld } from '../eviction';
import { createDataKey, importServerKey, PIN_ITERATIONS, pinKey, rewrap, unwrapFrom, type Wrapped } from './key-wrapping';

export const PIN_ATTEMPTS = 5;
export const PIN_MIN_LENGTH = 6;

export type VaultState =
  | { kind: 'locked' }
  | { kind: 'unlocked'; via: 'server' | 'pin' | 'ephemeral'; hasPin: boolean; pinNotAfter: number | null };

export type PinOutcome =
  | { kind: 'unlocked' }
  | { kind: 'wrong'; attemptsLeft: number }
  /** The fifth wrong PIN: this user's data on the device was deleted. */
  | { kind: 'wiped' }
  /** The offline limit passed: the PIN copy was deleted; only a sign-in opens the vault now. */
  | { kind: 'expired' }
  | { kind: 'no-pin' };

export class VaultLocked extends Error {
  override name = 'VaultLocked';
  constructor() {
    super('The device vault is locked: sign in, or enter your PIN.');
  }
}

interface ServerCopy extends Wrapped {
  id: 'server';
}
interface PinCopy extends Wrapped {
  id: 'pin';
  salt: Uint8Array<ArrayBuffer>;
  iterations: number;
  /** Wrong PINs since the last right one (counted before each try). */
  failures: number;
  /** After this, the copy is deleted unopened (the offline limit). */
  notAfter: number;
}
type VaultRow = ServerCopy | PinCopy;
type VaultDb = Dexie & { copies: Table<VaultRow, string> };

export function vaultDbName(userId: string): string {
  return `${dbNameFor(userId)}.vault`;
}

/** Deletes every database of this user except the vault (their data can no longer be opened, or must go). */
export async function deleteUserData(userId: string): Promise<void> {
  const own = dbNameFor(userId);
  const names = new Set([own]);
  try {
    for (const name of await Dexie.getDatabaseNames()) if (name === own || name.startsWith(`${own}.report.`)) names.add(name);
  } catch {
    // getDatabaseNames is missing in some engines: the worklist database at least
  }
  await Promise.all([...names].map((name) => Dexie.delete(name)));
}

export interface VaultOptions {
  iterations?: number;
  now?: () => number;
  /** Deletes the user's data on the device (a wrong key, or too many wrong PINs). */
  discard?: (userId: string) => Promise<void>;
}

export class DeviceVault {
  private readonly db: VaultDb;
  private key: CryptoKey | null = null;
  private serverKek: CryptoKey | null = null;
  private state: VaultState = { kind: 'locked' };
  private readonly listeners = new Set<() => void>();
  private readonly iterations: number;
  private readonly now: () => number;
  private readonly discard: (userId: string) => Promise<void>;

  constructor(
    readonly userId: string,
    options: VaultOptions = {},
  ) {
    this.db = new Dexie(vaultDbName(userId)) as VaultDb;
    this.db.version(1).stores({ copies: 'id' });
    this.iterations = options.iterations ?? PIN_ITERATIONS;
    this.now = options.now ?? Date.now;
    this.discard = options.discard ?? deleteUserData;
  }

  get = (): VaultState => this.state;
  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** The data key; throws VaultLocked while the vault is locked. */
  dataKey(): CryptoKey {
    if (!this.key) throw new VaultLocked();
    return this.key;
  }

  get unlocked(): boolean {
    return this.key !== null;
  }

  /**
   * After the server confirmed the session: open (or create) the data key; the PIN copy lives until
   * `offlineUntil`. One tab at a time (a Web Lock): two tabs signing in at once must not each make a key.
   */
  unlockWithServerKey(serverKey: string, offlineUntil: number): Promise<void> {
    return this.exclusively(() => this.openWithServerKey(serverKey, offlineUntil));
  }

  private async openWithServerKey(serverKey: string, offlineUntil: number): Promise<void> {
    const kek = await importServerKey(serverKey);
    const stored = (await this.db.copies.get('server')) as ServerCopy | undefined;
    let key: CryptoKey | null = null;
    if (stored) {
      try {
        key = await unwrapFrom(stored, kek, this.aad('server'));
      } catch {
        // Wrapped under another key (the server's secret changed): what it protects is unreadable.
        key = null;
      }
    }
    if (!key) {
      await this.discard(this.userId);
      await this.db.copies.clear();
      const created = await createDataKey(kek, this.aad('server'));
      await this.db.copies.put({ id: 'server', ...created.wrapped });
      key = created.key;
    }
    const pin = (await this.db.copies.get('pin')) as PinCopy | undefined;
    if (pin) await this.db.copies.put({ ...pin, notAfter: offlineUntil });
    this.serverKek = kek;
    this.open(key, 'server', pin ? offlineUntil : null);
  }

  /**
   * No vault key from the server (a session without a device identity): a key for this page only.
   * Nothing stored before can be opened, so it is deleted.
   */
  async unlockEphemeral(): Promise<void> {
    await this.discard(this.userId);
    await this.db.copies.clear();
    this.serverKek = null;
    this.open(await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']), 'ephemeral', null);
  }

  /** A stored PIN copy that is still usable, and until when. */
  async pinCopy(): Promise<{ notAfter: number; attemptsLeft: number } | null> {
    const pin = (await this.db.copies.get('pin')) as PinCopy | undefined;
    if (!pin) return null;
    if (pin.notAfter <= this.now()) {
      await this.db.copies.delete('pin');
      return null;
    }
    return { notAfter: pin.notAfter, attemptsLeft: PIN_ATTEMPTS - pin.failures };
  }

  /** One try of the PIN; tries from several tabs are counted one after the other. */
  unlockWithPin(pin: string): Promise<PinOutcome> {
    // Marks for the worklist benchmark: the unlock alone, apart from opening the rows it unlocks.
    globalThis.performance?.mark?.('pacs-vault:pin-tried');
    return this.exclusively(() => this.tryPin(pin)).finally(() => globalThis.performance?.mark?.('pacs-vault:pin-answered'));
  }

  private async tryPin(pin: string): Promise<PinOutcome> {
    const copy = (await this.db.copies.get('pin')) as PinCopy | undefined;
    if (!copy) return { kind: 'no-pin' };
    if (copy.notAfter <= this.now()) {
      await this.db.copies.delete('pin');
      return { kind: 'expired' };
    }
    // Counted before the try: closing the page mid-try does not give an attempt back.
    const failures = copy.failures + 1;
    await this.db.copies.put({ ...copy, failures });
    let key: CryptoKey;
    try {
      key = await unwrapFrom(copy, await pinKey(pin, copy.salt, copy.iterations), this.aad('pin'));
    } catch {
      if (failures >= PIN_ATTEMPTS) {
        forgetHeld(this.userId);
        await this.discard(this.userId);
        await this.db.copies.clear();
        this.lock();
        return { kind: 'wiped' };
      }
      return { kind: 'wrong', attemptsLeft: PIN_ATTEMPTS - failures };
    }
    await this.db.copies.put({ ...copy, failures: 0 });
    this.open(key, 'pin', copy.notAfter);
    return { kind: 'unlocked' };
  }

  /** Sets (or replaces) the PIN; only while the vault was opened by the server in this page. */
  async setPin(pin: string, offlineUntil: number): Promise<void> {
    if (pin.length < PIN_MIN_LENGTH) throw new Error(`A PIN needs at least ${PIN_MIN_LENGTH} characters.`);
    const server = (await this.db.copies.get('server')) as ServerCopy | undefined;
    if (!this.serverKek || !server) throw new Error('Connect and sign in to set a PIN.');
    const salt = crypto.getRandomValues(new Uint8Array(new ArrayBuffer(16)));
    const kek = await pinKey(pin, salt, this.iterations);
    const wrapped = await rewrap(server, this.serverKek, this.aad('server'), kek, this.aad('pin'));
    await this.db.copies.put({ id: 'pin', ...wrapped, salt, iterations: this.iterations, failures: 0, notAfter: offlineUntil });
    if (this.state.kind === 'unlocked') this.setState({ ...this.state, hasPin: true, pinNotAfter: offlineUntil });
  }

  async removePin(): Promise<void> {
    await this.db.copies.delete('pin');
    if (this.state.kind === 'unlocked') this.setState({ ...this.state, hasPin: false, pinNotAfter: null });
  }

  /** Forgets the keys in memory (the offline limit passed, or the user locked the app). */
  lock(): void {
    this.key = null;
    this.serverKek = null;
    if (this.state.kind !== 'locked') this.setState({ kind: 'locked' });
  }

  close(): void {
    this.lock();
    this.db.close();
  }

  private open(key: CryptoKey, via: 'server' | 'pin' | 'ephemeral', pinNotAfter: number | null): void {
    this.key = key;
    this.setState({ kind: 'unlocked', via, hasPin: pinNotAfter !== null, pinNotAfter });
  }

  private exclusively<T>(run: () => Promise<T>): Promise<T> {
    const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
    if (!locks) return run();
    return locks.request(`pacs-vault-${this.userId}`, run) as Promise<T>;
  }

  private aad(copy: 'server' | 'pin'): string {
    return `vault:${this.userId}:${copy}`;
  }

  private setState(state: VaultState): void {
    this.state = state;
    for (const listener of this.listeners) listener();
  }
}

const vaults = new Map<string, DeviceVault>();

/** The one vault of this user in this page. */
export function vaultFor(userId: string): DeviceVault {
  let vault = vaults.get(userId);
  if (!vault) {
    vault = new DeviceVault(userId);
    vaults.set(userId, vault);
  }
  return vault;
}

/** Locks and forgets every vault of this page (logout, wipe). */
export function closeAllVaults(): void {
  for (const vault of vaults.values()) vault.close();
  vaults.clear();
}
