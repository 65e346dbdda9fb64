/**
 * The devices users sign in from. A device proves itself with its secret (256 random bits the web
 * app keeps in localStorage); only its SHA-256 is stored. One physical device has one secret but a
 * row per user who signs in on it, so a shared tablet is one device to each of its users, and
 * revoking it for one user makes the whole tablet wipe (it holds that user's data, whoever asks).
 *
 * A presented id is only a hint: it is used when it is this user's row with this secret; an id
 * registered to someone else, or with another secret, is never taken over. The login then gets a
 * row of its own under a fresh id, so a copied id lets no one observe or revoke another's device.
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import type { DeviceCredentials, DeviceHoldings, WipeSummary } from '@pacs/shared';
import { Op, type Transaction, UniqueConstraintError } from 'sequelize';
import type { DeviceAttributes } from '../../db/device-models';
import type { Models } from '../../db/models';
import { DEVICE_REVOKED } from '../session-revocations';
import { deviceLabel } from './user-agent';

/** Refreshes come every few minutes; last-seen needs no finer grain than this. */
export const LAST_SEEN_GRAIN_MS = 60_000;

export class DeviceMustWipe extends Error {
  constructor() {
    super('device revoked');
  }
}

export const hashSecret = (secret: string) => createHash('sha256').update(secret).digest('hex');

function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}

export type WipeOutcome =
  | { kind: 'refused' }
  | { kind: 'not-revoked' }
  | { kind: 'recorded' | 'already'; wipedAt: Date; userIds: string[] };

export class DeviceRegistry {
  /** Device id → when its last-seen was last written by this instance. */
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly models: Models,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The device a sign-in comes from: its row for this user, or a new one. Throws DeviceMustWipe
   * when the device (by its secret) was revoked and has not reported its wipe yet.
   */
  async register(userId: string, credentials: DeviceCredentials | undefined, userAgent: string | undefined, transaction: Transaction) {
    if (!credentials) return null;
    const secretHash = hashSecret(credentials.secret);
    if (await this.mustWipeHash(secretHash, transaction)) throw new DeviceMustWipe();
    const now = new Date(this.now());
    const label = deviceLabel(userAgent);
    const { Device } = this.models;
    const byId = await Device.findByPk(credentials.id, { raw: true, transaction });
    const usable = (row: DeviceAttributes | null) => row && row.userId === userId && !row.revokedAt && sameHash(row.secretHash, secretHash);
    const own = usable(byId)
      ? byId
      : await Device.findOne({ where: { userId, secretHash, revokedAt: null }, order: [['lastSeenAt', 'DESC']], raw: true, transaction });
    if (own) {
      await Device.update({ lastSeenAt: now, userAgent: label }, { where: { id: own.id }, transaction });
      this.touched.set(own.id, now.getTime());
      return own.id;
    }
    const id = byId ? randomUUID() : credentials.id;
    const fields = { userId, secretHash, userAgent: label, createdAt: now, lastSeenAt: now };
    // A savepoint, so losing a race for the id does not abort the sign-in's transaction (PostgreSQL).
    // Unmanaged: a managed one would queue behind its own parent where SQLite transactions are serialised.
    const savepoint = await Device.sequelize!.transaction({ transaction });
    try {
      await Device.create({ id, ...fields }, { transaction: savepoint });
      await savepoint.commit();
      return id;
    } catch (error) {
      await savepoint.rollback();
      if (!(error instanceof UniqueConstraintError)) throw error;
      const fresh = randomUUID();
      await Device.create({ id: fresh, ...fields }, { transaction });
      return fresh;
    }
  }

  /**
   * Registers the device of a session that began without one (a single sign-on arrives by a
   * navigation, which carries no body) and ties the session's refresh tokens to it.
   */
  async adopt(userId: string, familyId: string, credentials: DeviceCredentials, userAgent: string | undefined): Promise<string | null> {
    return this.models.Device.sequelize!.transaction(async (transaction) => {
      const deviceId = await this.register(userId, credentials, userAgent, transaction);
      if (deviceId) await this.models.RefreshToken.update({ deviceId }, { where: { familyId, deviceId: null }, transaction });
      return deviceId;
    });
  }

  /** The presented credentials are this user's live (not revoked) device `deviceId`. */
  async proves(userId: string, deviceId: string, credentials: DeviceCredentials | undefined): Promise<boolean> {
    if (!credentials || credentials.id !== deviceId) return false;
    const row = await this.models.Device.findByPk(deviceId, { raw: true });
    return !!row && row.userId === userId && !row.revokedAt && sameHash(row.secretHash, hashSecret(credentials.secret));
  }

  /** True when the presented device was revoked and has not reported its wipe: it must wipe now. */
  async mustWipe(credentials: DeviceCredentials | undefined): Promise<boolean> {
    return credentials ? this.mustWipeHash(hashSecret(credentials.secret)) : false;
  }

  private async mustWipeHash(secretHash: string, transaction?: Transaction): Promise<boolean> {
    const revoked = await this.models.Device.count({
      where: { secretHash, revokedAt: { [Op.ne]: null }, wipedAt: null },
      transaction,
    });
    return revoked > 0;
  }

  /** Last seen, at a refresh: at most one write per device and minute from this instance. */
  async touch(deviceId: string): Promise<void> {
    const now = this.now();
    if (now - (this.touched.get(deviceId) ?? 0) < LAST_SEEN_GRAIN_MS) return;
    this.touched.set(deviceId, now);
    if (this.touched.size > 50_000) this.touched.clear();
    await this.models.Device.update(
      { lastSeenAt: new Date(now) },
      { where: { id: deviceId, lastSeenAt: { [Op.lt]: new Date(now - LAST_SEEN_GRAIN_MS) } } },
    );
  }

  async reportHoldings(deviceId: string, holdings: DeviceHoldings): Promise<void> {
    const now = new Date(this.now());
    await this.models.Device.update(
      {
        studiesHeld: holdings.studies,
        reportsHeld: holdings.reports,
        worklistRowsHeld: holdings.worklistRows,
        holdingsReportedAt: now,
        lastSeenAt: now,
      },
      { where: { id: deviceId } },
    );
    this.touched.set(deviceId, now.getTime());
  }

  async find(deviceId: string) {
    return this.models.Device.findByPk(deviceId, { raw: true });
  }

  /**
   * Marks the device revoked (by `by`) and revokes every session it signed in; answers those
   * sessions' ids so their access tokens can be refused at once.
   */
  async revoke(deviceId: string, by: string, transaction: Transaction): Promise<string[]> {
    const now = new Date(this.now());
    await this.models.Device.update({ revokedAt: now, revokedBy: by }, { where: { id: deviceId, revokedAt: null }, transaction });
    const live = await this.models.RefreshToken.findAll({
      attributes: ['familyId'],
      where: { deviceId, revokedAt: null },
      raw: true,
      transaction,
    });
    await this.models.RefreshToken.update(
      { revokedAt: now, revokedReason: DEVICE_REVOKED },
      { where: { deviceId, revokedAt: null }, transaction },
    );
    return [...new Set(live.map((row) => row.familyId))];
  }

  /**
   * A revoked device reports its wipe. Refused for an unknown id or a wrong secret; recorded once on
   * every revoked row of the device (the wipe removed every user's data on it); a repeat answers the
   * first record.
   */
  async recordWipe(credentials: DeviceCredentials, summary: WipeSummary, transaction: Transaction): Promise<WipeOutcome> {
    const { Device } = this.models;
    const row = await Device.findByPk(credentials.id, { raw: true, transaction });
    const secretHash = hashSecret(credentials.secret);
    if (!row || !sameHash(row.secretHash, secretHash)) return { kind: 'refused' };
    const pending = await Device.findAll({ where: { secretHash, revokedAt: { [Op.ne]: null }, wipedAt: null }, raw: true, transaction });
    if (pending.length === 0) {
      if (row.wipedAt) return { kind: 'already', wipedAt: new Date(row.wipedAt), userIds: [row.userId] };
      return { kind: 'not-revoked' };
    }
    const wipedAt = new Date(this.now());
    await Device.update(
      { wipedAt, wipeReport: JSON.stringify(summary) },
      { where: { id: pending.map((p) => p.id), wipedAt: null }, transaction },
    );
    // Nothing is left on the device for any of its users.
    await Device.update(
      { studiesHeld: 0, reportsHeld: 0, worklistRowsHeld: 0, holdingsReportedAt: wipedAt },
      { where: { secretHash }, transaction },
    );
    return { kind: 'recorded', wipedAt, userIds: [...new Set(pending.map((p) => p.userId))] };
  }
}
