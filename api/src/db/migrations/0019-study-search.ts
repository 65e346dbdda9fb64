/**
 * A token index for the worklist's free-text search, so a new term costs an index lookup instead of
 * a `LIKE '%…%'` scan of every study (seconds at a million rows, and on SQLite's one connection it
 * starved every other query). Search stays substring, accent- and case-insensitive on the folded
 * `searchText`:
 * - SQLite: an FTS5 trigram index (no copy of the text: contentless, deletable) under the studies'
 *   own rowids, so a match is one lookup away from its row (through the UUID key it cost five times
 *   more). Those rowids are implicit; VACUUM and `VACUUM INTO` (the backup) copy rows with them, which
 *   a test checks on a backup. Triggers keep the index in step with `studies`.
 * - PostgreSQL: a pg_trgm GIN index on `searchText`, which `LIKE '%…%'` itself uses.
 * - SQL Server: a full-text index (word prefixes, not substrings: documented in DEPLOYMENT.md).
 */
import type { MigrationContext } from '@pacs/server-kit/database';

export async function up({ context: { queryInterface: qi } }: MigrationContext): Promise<void> {
  const q = (sql: string) => qi.sequelize.query(sql);
  const dialect = qi.sequelize.getDialect();
  if (dialect === 'sqlite') {
    await q(`CREATE VIRTUAL TABLE study_search USING fts5("searchText", content='', contentless_delete=1, tokenize='trigram')`);
    await q('INSERT INTO study_search ("rowid", "searchText") SELECT "rowid", "searchText" FROM studies');
    await q(`CREATE TRIGGER studies_search_insert AFTER INSERT ON studies BEGIN
      INSERT INTO study_search ("rowid", "searchText") VALUES (new."rowid", new."searchText");
    END`);
    await q(`CREATE TRIGGER studies_search_update AFTER UPDATE OF "searchText" ON studies WHEN new."searchText" IS NOT old."searchText" BEGIN
      UPDATE study_search SET "searchText" = new."searchText" WHERE "rowid" = new."rowid";
    END`);
    await q(`CREATE TRIGGER studies_search_delete AFTER DELETE ON studies BEGIN
      DELETE FROM study_search WHERE "rowid" = old."rowid";
    END`);
  } else if (dialect === 'postgres') {
    // pg_trgm is a trusted extension (PostgreSQL 13+): the database's owner may create it.
    try {
      await q('CREATE EXTENSION IF NOT EXISTS pg_trgm');
    } catch (error) {
      throw new Error(
        `the worklist search needs PostgreSQL's pg_trgm extension: have the database owner or a superuser run "CREATE EXTENSION pg_trgm" in this database (${(error as Error).message})`,
      );
    }
    await q('CREATE INDEX studies_search_trigrams ON studies USING gin ("searchText" gin_trgm_ops)');
  } else if (dialect === 'mssql') {
    // A full-text index needs a unique, single-column, non-nullable key index with a known name.
    await qi.addIndex('studies', ['id'], { name: 'studies_search_key', unique: true });
    await q(`IF NOT EXISTS (SELECT 1 FROM sys.fulltext_catalogs WHERE name = 'pacs_search') CREATE FULLTEXT CATALOG pacs_search`);
    await q('CREATE FULLTEXT INDEX ON studies ([searchText]) KEY INDEX studies_search_key ON pacs_search WITH CHANGE_TRACKING AUTO');
  }
}
