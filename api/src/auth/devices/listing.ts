/**
 * The lists of sessions and devices: a user's own, or for admins one user's or everyone's. A session
 * is a refresh-token family with a live token (unused, not revoked, not expired): it started with
 * the family's first token and was last seen at its newest one.
 */
import type { DeviceView, SessionView, WipeSummary } from '@pacs/shared';
import { col, fn, Op, type WhereOptions } from 'sequelize';
import type { DeviceAttributes } from '../../db/device-models';
import type { Models, RefreshTokenAttributes } from '../../db/models';

export interface ListScope {
  /** One user's; undefined: everyone's (admins). */
  userId?: string;
  limit: number;
  /** The session of the request, marked `current`, and its device. */
  currentSessionId: string | null;
  currentDeviceId: string | null;
}

const iso = (value: Date | string) => new Date(value).toISOString();
const isoOrNull = (value: Date | string | null) => (value ? iso(value) : null);

export class SessionListing {
  constructor(
    private readonly models: Models,
    private readonly now: () => number = Date.now,
  ) {}

  private liveWhere(userId?: string): WhereOptions<RefreshTokenAttributes> {
    return { usedAt: null, revokedAt: null, expiresAt: { [Op.gt]: new Date(this.now()) }, ...(userId ? { userId } : {}) };
  }

  private async emails(userIds: string[]): Promise<Map<string, string>> {
    if (userIds.length === 0) return new Map();
    const users = await this.models.User.findAll({ attributes: ['id', 'email'], where: { id: [...new Set(userIds)] }, raw: true });
    return new Map(users.map((u) => [u.id, u.email]));
  }

  async sessions(scope: ListScope): Promise<SessionView[]> {
    const { RefreshToken, Device } = this.models;
    const live = await RefreshToken.findAll({
      where: this.liveWhere(scope.userId),
      order: [['createdAt', 'DESC']],
      limit: scope.limit,
      raw: true,
    });
    if (live.length === 0) return [];
    const familyIds = live.map((row) => row.familyId);
    const starts = (await RefreshToken.findAll({
      attributes: ['familyId', [fn('MIN', col('createdAt')), 'startedAt']],
      where: { familyId: familyIds },
      group: ['familyId'],
      raw: true,
    })) as unknown as { familyId: string; startedAt: Date | string }[];
    const startedAt = new Map(starts.map((s) => [s.familyId, s.startedAt]));
    const deviceIds = [...new Set(live.map((row) => row.deviceId).filter((id): id is string => id !== null))];
    const devices = deviceIds.length ? await Device.findAll({ attributes: ['id', 'userAgent'], where: { id: deviceIds }, raw: true }) : [];
    const labels = new Map(devices.map((d) => [d.id, d.userAgent]));
    const emails = await this.emails(live.map((row) => row.userId));
    return live.map((row) => ({
      id: row.familyId,
      userId: row.userId,
      userEmail: emails.get(row.userId) ?? '',
      deviceId: row.deviceId,
      deviceLabel: (row.deviceId && labels.get(row.deviceId)) || 'Unknown device',
      createdAt: iso(startedAt.get(row.familyId) ?? row.createdAt),
      lastSeenAt: iso(row.createdAt),
      expiresAt: iso(row.expiresAt),
      current: row.familyId === scope.currentSessionId,
    }));
  }

  async devices(scope: ListScope): Promise<DeviceView[]> {
    const rows = await this.models.Device.findAll({
      where: scope.userId ? { userId: scope.userId } : {},
      order: [['lastSeenAt', 'DESC']],
      limit: scope.limit,
      raw: true,
    });
    if (rows.length === 0) return [];
    const counts = (await this.models.RefreshToken.findAll({
      attributes: ['deviceId', [fn('COUNT', col('id')), 'sessions']],
      where: { ...this.liveWhere(), deviceId: rows.map((r) => r.id) },
      group: ['deviceId'],
      raw: true,
    })) as unknown as { deviceId: string; sessions: number | string }[];
    const sessions = new Map(counts.map((c) => [c.deviceId, Number(c.sessions)]));
    const emails = await this.emails(rows.map((row) => row.userId));
    return rows.map((row) => presentDevice(row, emails.get(row.userId) ?? '', sessions.get(row.id) ?? 0, row.id === scope.currentDeviceId));
  }
}

export function presentDevice(row: DeviceAttributes, userEmail: string, activeSessions: number, current: boolean): DeviceView {
  return {
    id: row.id,
    userId: row.userId,
    userEmail,
    label: row.userAgent || 'Unknown device',
    createdAt: iso(row.createdAt),
    lastSeenAt: iso(row.lastSeenAt),
    holdings: { studies: row.studiesHeld, reports: row.reportsHeld, worklistRows: row.worklistRowsHeld },
    holdingsReportedAt: isoOrNull(row.holdingsReportedAt),
    activeSessions,
    revokedAt: isoOrNull(row.revokedAt),
    wipedAt: isoOrNull(row.wipedAt),
    wipeReport: row.wipeReport ? (JSON.parse(row.wipeReport) as WipeSummary) : null,
    current,
  };
}
