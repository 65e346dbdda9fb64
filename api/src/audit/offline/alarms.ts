/** The system status's offline audit alarms: which device of which user failed its chain check, never what was read. */
import type { OfflineAuditAlarm } from '@pacs/shared';
import { Op } from 'sequelize';
import type { Models } from '../../db/models';

const MAX_ALARMS = 200;

export async function offlineAuditAlarms(models: Models): Promise<OfflineAuditAlarm[]> {
  const broken = await models.OfflineAuditChain.findAll({
    where: { brokenAt: { [Op.ne]: null } },
    order: [['brokenAt', 'ASC']],
    limit: MAX_ALARMS,
    raw: true,
  });
  if (broken.length === 0) return [];
  const [devices, users] = await Promise.all([
    models.Device.findAll({ where: { id: broken.map((b) => b.deviceId) }, attributes: ['id', 'userAgent'], raw: true }),
    models.User.findAll({ where: { id: [...new Set(broken.map((b) => b.userId))] }, attributes: ['id', 'name'], raw: true }),
  ]);
  const labelOf = new Map(devices.map((d) => [d.id, d.userAgent]));
  const nameOf = new Map(users.map((u) => [u.id, u.name]));
  return broken.map((b) => ({
    kind: 'offline-audit-chain-broken',
    deviceId: b.deviceId,
    deviceLabel: labelOf.get(b.deviceId) ?? '',
    userId: b.userId,
    userName: nameOf.get(b.userId) ?? '',
    since: new Date(b.brokenAt!).toISOString(),
    reason: b.brokenReason ?? '',
  }));
}
