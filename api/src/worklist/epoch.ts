/**
 * The database's identity for the device feed. Sequence numbers mean something only within one
 * database history: after a restore from a backup the counter goes back, and a device holding a
 * later cursor would skip what changes next. The restore procedure renews the epoch
 * (`renewDatabaseEpoch`, tools/renew-database-epoch.ts); devices that send another epoch, or a
 * cursor ahead of the counter, are told to start again (409 FEED_RESET).
 */
import { randomUUID } from 'node:crypto';
import { EPOCH_KEY } from '../db/migrations/0017-device-scope';
import type { Models } from '../db/models';

/** The current epoch; made once if the row is missing (a database older than migration 0017's insert). */
export async function databaseEpoch(models: Models): Promise<string> {
  const row = await models.AppState.findByPk(EPOCH_KEY, { raw: true });
  if (row) return row.value;
  await models.AppState.findOrCreate({
    where: { key: EPOCH_KEY },
    defaults: { key: EPOCH_KEY, value: randomUUID(), updatedAt: new Date() },
  });
  return (await models.AppState.findByPk(EPOCH_KEY, { raw: true }))!.value;
}

/** A new identity: every device's feed position becomes invalid and they start again from a snapshot. */
export async function renewDatabaseEpoch(models: Models): Promise<string> {
  const epoch = randomUUID();
  await models.AppState.upsert({ key: EPOCH_KEY, value: epoch, updatedAt: new Date() });
  return epoch;
}

/** The worklist counter as the database holds it now (not the in-process high-water mark). */
export async function storedSequence(models: Models): Promise<number> {
  const row = await models.Counter.findByPk('worklist', { raw: true });
  return Number(row?.value ?? 0);
}
