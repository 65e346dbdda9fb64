/**
 * The signed-in session as the app sees it.
 *
 * - `online`: the server confirmed the session (login or refresh); the access token is in memory.
 * - `offline`: no network at start (or lost later) and the last confirmation is younger than the
 *   offline limit: the user keeps reading and queueing changes from the device's copy.
 * - `pin`: started without a network (a reload, a tablet that killed the tab): the device's data is
 *   sealed under the vault's key, which only the server (at sign-in or refresh) or the user's PIN
 *   opens. Asks for the PIN; within the offline limit it opens the vault and the session goes offline.
 * - `locked`: offline for longer than the limit, or offline with no PIN on this device: the vault is
 *   locked (its key forgotten) and nothing is shown; the user must reconnect and sign in. Pending
 *   changes stay sealed on the device for when they do.
 *
 * Trade-off (also in web/README.md): a stolen unlocked tablet shows the cached worklist for up to
 * the offline limit without a password; a shorter limit means radiologists lose the worklist in a
 * long network outage. Logout wipes the device's worklist databases.
 *
 * A device revoked by its user or an admin is told so at its next refresh or sign-in
 * (DEVICE_REVOKED): it wipes everything it holds (device/wipe.ts), reports the wipe, and shows the
 * sign-in page saying why.
 */
import { ApiError, api, NetworkError, sessionRejected } from '../api/client';
import type { MfaChallenge, SessionResponse, User } from '../api/types';
import { rememberDb, wipeAllWorklistDbs } from '../device/db';
import { closeAllVaults, type PinOutcome, vaultFor } from '../device/vault/vault';
import { sendPendingWipeReport, wipeDevice } from '../device/wipe';

const HOUR = 3_600_000;
export const OFFLINE_LIMIT_MS = Number(import.meta.env.VITE_PACS_OFFLINE_LIMIT_HOURS ?? 12) * HOUR;

const LAST_SESSION = 'pacs.lastSession';
export const DEVICE_REVOKED_MESSAGE =
  'This device was signed out from the list of devices (by you or an administrator), and its offline data — worklist, studies and report copies — was removed. Sign in again to continue.';

export const NO_PIN_MESSAGE =
  'No connection, and no offline PIN on this device: the worklist and reports stay locked until you reconnect. Set a PIN on your account page to open them offline.';
const PIN_WIPED_MESSAGE = 'Too many wrong PINs: your offline data was removed from this device. Connect and sign in again.';

const deviceRevoked = (error: unknown) => error instanceof ApiError && error.code === 'DEVICE_REVOKED';
const LOGGED_OUT = 'pacs.loggedOut';

export type SessionMode = 'loading' | 'anonymous' | 'online' | 'offline' | 'pin' | 'locked';

export interface SessionState {
  mode: SessionMode;
  user: User | null;
  /** When the server last confirmed this session (ISO). */
  verifiedAt: string | null;
  message: string | null;
}

/** The last session the server confirmed on this device (localStorage), what an offline start falls back to. */
interface LastSession {
  user: User;
  verifiedAt: string;
}

function readLastSession(): LastSession | null {
  try {
    const parsed = JSON.parse(localStorage.getItem(LAST_SESSION) ?? 'null') as LastSession | null;
    return parsed?.user?.id && parsed.verifiedAt ? parsed : null;
  } catch {
    return null;
  }
}

/** `?signin=sso` on the page the sign-in returned to: read once and removed from the address bar. */
function takeSignInMarker(): boolean {
  const url = new URL(window.location.href);
  if (url.searchParams.get('signin') !== 'sso') return false;
  url.searchParams.delete('signin');
  window.history.replaceState(window.history.state, '', `${url.pathname}${url.search}${url.hash}`);
  return true;
}

export function offlineAllowed(verifiedAt: string, now = Date.now(), limit = OFFLINE_LIMIT_MS): boolean {
  return now - Date.parse(verifiedAt) < limit;
}

/** The session state and its changes, read by React through useSyncExternalStore (`subscribe`, `get`). */
class Session {
  private state: SessionState = { mode: 'loading', user: null, verifiedAt: null, message: null };
  private readonly listeners = new Set<() => void>();
  private limitTimer: ReturnType<typeof setInterval> | null = null;

  constructor() {
    api.onSessionEnd((_session, reason) => {
      if (reason === 'device-revoked') {
        void this.wipeRevokedDevice();
      } else if (reason === 'logout') {
        localStorage.removeItem(LAST_SESSION);
        this.set({ mode: 'anonymous', user: null, verifiedAt: null, message: 'You were logged out in another tab.' });
      } else if (this.state.mode === 'online' || this.state.mode === 'offline') {
        this.set({ mode: 'anonymous', message: 'Your session has ended. Please sign in again; pending changes are kept.' });
      }
    });
    api.onConfirmed((confirmed) => {
      if (this.state.user?.id !== confirmed.user.id) return;
      const verifiedAt = new Date().toISOString();
      localStorage.setItem(LAST_SESSION, JSON.stringify({ user: confirmed.user, verifiedAt } satisfies LastSession));
      this.state = { ...this.state, verifiedAt, user: confirmed.user };
      // Each confirmation opens the vault (or moves the PIN copy's end to the offline limit from
      // now); the pages come back only once it is open, since they read the device through it.
      void this.openVault(confirmed)
        .then(() => {
          const { mode } = this.state;
          if (mode === 'offline' || mode === 'locked' || mode === 'pin') this.set({ mode: 'online', message: null });
        })
        .catch(() => undefined);
    });
    if (typeof window !== 'undefined') {
      window.addEventListener('online', () => void this.reconnectAfterOnline());
      window.addEventListener('offline', () => {
        if (this.state.mode === 'online') this.set({ mode: 'offline' });
      });
    }
  }

  get = (): SessionState => this.state;
  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };
  private set(patch: Partial<SessionState>): void {
    this.state = { ...this.state, ...patch };
    for (const listener of this.listeners) listener();
    this.watchLimit();
  }

  private async confirmed(session: SessionResponse): Promise<void> {
    const verifiedAt = new Date().toISOString();
    localStorage.setItem(LAST_SESSION, JSON.stringify({ user: session.user, verifiedAt } satisfies LastSession));
    localStorage.removeItem(LOGGED_OUT);
    rememberDb(session.user.id);
    await this.openVault(session);
    this.set({ mode: 'online', user: session.user, verifiedAt, message: null });
  }

  /** The server's vault key opens the device's data; without one (no device identity) a key for this page only. */
  private async openVault(confirmed: SessionResponse): Promise<void> {
    const vault = vaultFor(confirmed.user.id);
    if (confirmed.deviceKey) await vault.unlockWithServerKey(confirmed.deviceKey, Date.now() + OFFLINE_LIMIT_MS);
    else if (!vault.unlocked) await vault.unlockEphemeral();
  }

  /** The PIN typed on the `pin` screen. */
  async unlockWithPin(pin: string): Promise<PinOutcome> {
    const { user, verifiedAt } = this.state;
    if (this.state.mode !== 'pin' || !user || !verifiedAt) return { kind: 'no-pin' };
    const outcome = await vaultFor(user.id).unlockWithPin(pin);
    if (outcome.kind === 'unlocked') this.set({ mode: 'offline', message: null });
    else if (outcome.kind === 'wiped') {
      localStorage.removeItem(LAST_SESSION);
      this.set({ mode: 'anonymous', user: null, verifiedAt: null, message: PIN_WIPED_MESSAGE });
    } else if (outcome.kind !== 'wrong') this.set({ mode: 'locked', message: NO_PIN_MESSAGE });
    return outcome;
  }

  /**
   * Revoked: the session is gone; remove every user's data from this device, then the sign-in
   * page says why. The wipe runs before the page changes, so nothing is shown from a database
   * about to go.
   */
  private wiping: Promise<void> | null = null;
  wipeRevokedDevice(): Promise<void> {
    this.wiping ??= (async () => {
      api.clear(false);
      this.set({ mode: 'loading', user: null });
      try {
        await wipeDevice();
      } finally {
        this.set({ mode: 'anonymous', user: null, verifiedAt: null, message: DEVICE_REVOKED_MESSAGE });
        this.wiping = null;
      }
    })();
    return this.wiping;
  }

  /** At start: a refresh through the cookie, or the offline session if the network is down. */
  async boot(): Promise<void> {
    // A wipe whose report did not get through last time: the server waits for it.
    await sendPendingWipeReport();
    if (localStorage.getItem(LOGGED_OUT)) {
      // Logged out while offline: revoke the server session now that we may reach it.
      try {
        await api.refresh();
        await api.logout();
        localStorage.removeItem(LOGGED_OUT);
      } catch (error) {
        if (error instanceof ApiError) localStorage.removeItem(LOGGED_OUT);
      }
      this.set({ mode: 'anonymous', user: null, verifiedAt: null });
      return;
    }
    // Back from the hospital sign-in: the server set the refresh cookie during the redirect.
    const fromSso = takeSignInMarker();
    // No session was ever confirmed on this device (or the user logged out): there is no
    // refresh cookie worth trying, and the refused request would only add a console error.
    if (!readLastSession() && !fromSso) {
      this.set({ mode: 'anonymous', user: null, verifiedAt: null });
      return;
    }
    let confirmed: SessionResponse;
    try {
      confirmed = await api.refresh();
    } catch (error) {
      await this.fallBack(error);
      return;
    }
    await this.confirmed(confirmed);
  }

  private async fallBack(error: unknown): Promise<void> {
    if (deviceRevoked(error)) {
      void this.wipeRevokedDevice();
      return;
    }
    const last = readLastSession();
    // Only a refused refresh ends the session; a lost or failed one (network, 5xx) keeps the
    // device's copy, as the server may well have rotated the cookie and forgive the retry.
    if (!sessionRejected(error) && last) {
      const known = { user: last.user, verifiedAt: last.verifiedAt };
      const vault = vaultFor(last.user.id);
      if (!offlineAllowed(last.verifiedAt)) {
        vault.lock();
        this.set({ mode: 'locked', ...known, message: null });
      } else if (vault.unlocked) this.set({ mode: 'offline', ...known, message: null });
      else if (await vault.pinCopy()) this.set({ mode: 'pin', ...known, message: null });
      else this.set({ mode: 'locked', ...known, message: NO_PIN_MESSAGE });
      return;
    }
    this.set({
      mode: 'anonymous',
      user: null,
      message: error instanceof NetworkError ? 'No connection, and no session on this device yet: connect to sign in.' : null,
    });
  }

  /**
   * `online` often fires a moment before requests get through (Wi-Fi associating, captive
   * portals): a few spaced attempts instead of one that races the network.
   */
  private async reconnectAfterOnline(): Promise<void> {
    for (const wait of [0, 1000, 3000, 7000]) {
      if (wait) await new Promise((resolve) => setTimeout(resolve, wait));
      if ((this.state.mode !== 'offline' && this.state.mode !== 'locked' && this.state.mode !== 'pin') || !navigator.onLine) return;
      await this.reconnect();
    }
  }

  async reconnect(): Promise<void> {
    if (this.state.mode !== 'offline' && this.state.mode !== 'locked' && this.state.mode !== 'pin') return;
    try {
      const session = await api.refresh();
      if (this.state.user && session.user.id !== this.state.user.id) {
        this.set({ mode: 'anonymous', user: null, message: 'A different user signed in elsewhere on this device.' });
        return;
      }
      await this.confirmed(session);
    } catch (error) {
      if (deviceRevoked(error)) await this.wipeRevokedDevice();
      else if (sessionRejected(error))
        this.set({ mode: 'anonymous', message: 'Your session has ended. Please sign in again; pending changes are kept.' });
    }
  }

  /** Signs in, or answers the second-factor step the account needs first (then `completeSignIn`). */
  async login(email: string, password: string): Promise<MfaChallenge | null> {
    let answer: SessionResponse | MfaChallenge;
    try {
      answer = await api.login(email, password);
    } catch (error) {
      if (!deviceRevoked(error)) throw error;
      // Revoked while nobody was signed in here: wipe and report first, then sign in as a new device.
      await wipeDevice();
      answer = await api.login(email, password);
    }
    if (!('accessToken' in answer)) return answer;
    await this.completeSignIn(answer);
    return null;
  }

  /** The session a login (or its second-factor step) ended with. */
  async completeSignIn(confirmed: SessionResponse): Promise<void> {
    await this.confirmed(confirmed);
    void navigator.storage?.persist?.().catch(() => false);
  }

  /**
   * Ends the session and wipes PHI from this device (all worklist databases); after a single
   * sign-on, then visits the provider's page that ends its session too.
   */
  async logout(): Promise<void> {
    let endSessionUrl: string | null = null;
    try {
      endSessionUrl = await api.logout();
    } catch (error) {
      if (error instanceof NetworkError) localStorage.setItem(LOGGED_OUT, '1');
    }
    api.clear(true);
    localStorage.removeItem(LAST_SESSION);
    closeAllVaults();
    await wipeAllWorklistDbs();
    this.set({ mode: 'anonymous', user: null, verifiedAt: null, message: 'Signed out. Worklist data was removed from this device.' });
    if (endSessionUrl) window.location.assign(endSessionUrl);
  }

  /** In offline mode, lock once the offline limit has passed. */
  private watchLimit(): void {
    if (this.state.mode === 'offline' && !this.limitTimer) {
      this.limitTimer = setInterval(() => {
        const { verifiedAt } = this.state;
        if (this.state.mode === 'offline' && verifiedAt && !offlineAllowed(verifiedAt)) {
          // Everything locks, not only the viewer: the key is forgotten, so nothing more opens.
          if (this.state.user) vaultFor(this.state.user.id).lock();
          this.set({ mode: 'locked', message: null });
        }
      }, 30_000);
    } else if (this.state.mode !== 'offline' && this.limitTimer) {
      clearInterval(this.limitTimer);
      this.limitTimer = null;
    }
  }
}

export const session = new Session();
