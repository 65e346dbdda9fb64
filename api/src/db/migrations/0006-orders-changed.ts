/**
 * Orders looked up by when they last changed: the modality worklist folder's sync reads only the
 * orders updated since its last pass (a hold or a cancel changes no worklist row).
 */
import type { MigrationContext } from '@pacs/server-kit/database';

export async function up({ context: { queryInterface: qi } }: MigrationContext): Promise<void> {
  await qi.addIndex('orders', ['updatedAt'], { name: 'orders_updated' });
}
