/**
 * What a restore from a backup must change before the system serves again (DEPLOYMENT.md, restore):
 * - a new database epoch: devices start their worklist again from a snapshot instead of waiting
 *   at a cursor the restored counter has not reached (worklist/epoch.ts);
 * - every device's offline read record may continue from wherever the device is: the entries it
 *   uploaded between the backup and the restore went with everything else of that time, so the gap
 *   its next upload shows is the restore's, not a removed entry. The upload that continues writes
 *   an audit row naming the gap (audit/offline/offline-reads.ts). A chain already broken keeps its
 *   alarm for an admin.
 */
import { Op } from 'sequelize';
import { renewDatabaseEpoch } from '../worklist/epoch';
import type { Models } from './models';

export async function afterRestore(models: Models): Promise<{ epoch: string; offlineChains: number }> {
  const epoch = await renewDatabaseEpoch(models);
  const [offlineChains] = await models.OfflineAuditChain.update({ restartAllowed: true }, { where: { brokenAt: { [Op.is]: null } } });
  return { epoch, offlineChains };
}
