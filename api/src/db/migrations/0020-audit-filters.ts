/**
 * Indexes for the audit trail's remaining filters. The trail is read newest first (`ORDER BY id
 * DESC`) a page at a time; a filter on a column without an index ending in `id` walks the table
 * backwards from the newest row until a page is full, which for a rare value (a serious failure, a
 * delete, reads of the trail itself) is the whole table: 130-180 ms at a million rows on SQLite,
 * holding one of the few threads its statements run on. With `(column, id)` the page is the index's last
 * entries for that value. User, patient, study and event had theirs from the start (0001).
 */
import type { MigrationContext } from '@pacs/server-kit/database';

export async function up({ context: { queryInterface: qi } }: MigrationContext): Promise<void> {
  await qi.addIndex('audit_logs', ['outcome', 'id'], { name: 'audit_logs_outcome' });
  await qi.addIndex('audit_logs', ['action', 'id'], { name: 'audit_logs_action' });
  await qi.addIndex('audit_logs', ['objectType', 'id'], { name: 'audit_logs_object_type' });
}
