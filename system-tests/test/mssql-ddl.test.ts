/**
 * SQL Server portability without a SQL Server (none can run on the development machines).
 *
 * Every API and sync-server migration runs against a Sequelize instance with the real `mssql`
 * dialect (tedious loaded, never connected) whose `query` is replaced by a recorder. The test
 * then checks the T-SQL Sequelize generated: column types, identity keys, index key sizes,
 * unique keys over nullable columns (SQL Server admits one NULL per unique key), the audit
 * trigger's mssql branch, and that the models agree with the migrations column by column.
 * What this cannot prove: that SQL Server accepts and executes the statements (see DEPLOYMENT.md).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { auditPageStatement } from '@pacs/api/audit/trail-page';
import { MIGRATION_NAMES, migrator } from '@pacs/api/db/migrate';
import { defineModels } from '@pacs/api/db/models';
import { textSearchWhere } from '@pacs/api/worklist/text-search';
import { MIGRATION_NAMES as SYNC_MIGRATION_NAMES, migrator as syncMigrator } from '@pacs/sync-server/db/migrate';
import { SequelizeStore } from '@pacs/sync-server/store';
import { Op, Sequelize } from 'sequelize';
import * as tedious from 'tedious';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');

interface Captured {
  sql: string;
  bind: unknown;
}

/** An mssql Sequelize that records every statement instead of sending it. */
function recordingSequelize(): { sequelize: Sequelize; statements: Captured[] } {
  const sequelize = new Sequelize({ dialect: 'mssql', dialectModule: tedious, logging: false });
  const statements: Captured[] = [];
  const fake = async (sql: string | { query: string; bind?: unknown }, options?: { bind?: unknown }) => {
    const text = typeof sql === 'string' ? sql : sql.query;
    statements.push({ sql: text, bind: (typeof sql === 'string' ? undefined : sql.bind) ?? options?.bind });
    return [[], 0];
  };
  (sequelize as unknown as { query: typeof fake }).query = fake;
  return { sequelize, statements };
}

interface Column {
  name: string;
  type: string;
  nullable: boolean;
  identity: boolean;
  unique: boolean;
}
interface Table {
  name: string;
  columns: Map<string, Column>;
  primaryKey: string[];
}
interface Index {
  name: string;
  table: string;
  columns: string[];
  unique: boolean;
  where: string | null;
}

/** Splits on commas outside parentheses. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(current.trim());
      current = '';
    } else current += ch;
  }
  if (current.trim()) parts.push(current.trim());
  return parts;
}

const TYPE_RE = /^(NVARCHAR\((?:\d+|MAX)\)|CHAR\(36\)|DATETIMEOFFSET|BIT|INTEGER|BIGINT|VARBINARY\(MAX\))/;

function parseColumn(definition: string): Column {
  const match = /^\[([^\]]+)\]\s+(.*)$/.exec(definition);
  if (!match) throw new Error(`unparsed column: ${definition}`);
  const rest = match[2]!;
  const type = TYPE_RE.exec(rest)?.[1] ?? rest.split(/\s+/)[0]!;
  return {
    name: match[1]!,
    type,
    nullable: !/\bNOT NULL\b/.test(rest),
    identity: /\bIDENTITY\(1,1\)/.test(rest),
    unique: /\bUNIQUE\b/.test(rest),
  };
}

/** Tables and indexes as the statements leave them, in order (CREATE TABLE, ALTER TABLE ADD, CREATE INDEX). */
function schemaOf(statements: Captured[]): { tables: Map<string, Table>; indexes: Index[]; other: string[] } {
  const tables = new Map<string, Table>();
  const indexes: Index[] = [];
  const other: string[] = [];
  for (const { sql } of statements) {
    const create = /^IF OBJECT_ID\('\[(\w+)\]', 'U'\) IS NULL CREATE TABLE \[\w+\] \((.*)\);$/s.exec(sql);
    const add = /^ALTER TABLE \[(\w+)\] ADD (.*);$/s.exec(sql);
    const index = /^CREATE (UNIQUE )?INDEX \[(\w+)\] ON \[(\w+)\] \(([^)]*)\)(?:\s+WHERE\s+(.*))?$/s.exec(sql);
    if (create) {
      const table: Table = { name: create[1]!, columns: new Map(), primaryKey: [] };
      for (const part of splitTopLevel(create[2]!)) {
        if (part.startsWith('PRIMARY KEY')) table.primaryKey = [...part.matchAll(/\[(\w+)\]/g)].map((m) => m[1]!);
        else if (part.startsWith('FOREIGN KEY')) continue;
        else {
          const column = parseColumn(part);
          table.columns.set(column.name, column);
        }
      }
      tables.set(table.name, table);
    } else if (add) {
      const column = parseColumn(add[2]!);
      tables.get(add[1]!)!.columns.set(column.name, column);
    } else if (index) {
      indexes.push({
        unique: Boolean(index[1]),
        name: index[2]!,
        table: index[3]!,
        columns: [...index[4]!.matchAll(/\[(\w+)\]/g)].map((m) => m[1]!),
        where: index[5] ?? null,
      });
    } else other.push(sql);
  }
  return { tables, indexes, other };
}

/** Bytes a key column takes in an index (SQL Server limits: 900 clustered, 1700 nonclustered). */
function keyBytes(type: string): number {
  const nvarchar = /^NVARCHAR\((\d+)\)$/.exec(type);
  if (nvarchar) return 2 * Number(nvarchar[1]);
  const sizes: Record<string, number> = { 'CHAR(36)': 36, BIGINT: 8, INTEGER: 4, DATETIMEOFFSET: 10, BIT: 1 };
  const size = sizes[type];
  if (size === undefined) throw new Error(`${type} cannot be an index key on SQL Server`);
  return size;
}

async function runMigrations(kind: 'api' | 'sync') {
  const { sequelize, statements } = recordingSequelize();
  const umzug = kind === 'api' ? migrator(sequelize) : syncMigrator(sequelize);
  const context = { queryInterface: sequelize.getQueryInterface(), sequelize };
  const migrations = await umzug.migrations(context);
  for (const migration of migrations) await migration.up({ name: migration.name, path: migration.path, context });
  return { names: migrations.map((m) => m.name), statements, sequelize, ...schemaOf(statements) };
}

type Run = Awaited<ReturnType<typeof runMigrations>>;
let api: Run;
let sync: Run;

beforeAll(async () => {
  api = await runMigrations('api');
  sync = await runMigrations('sync');
});

describe('mssql DDL of every migration', () => {
  it('runs every listed migration, API and sync-server', () => {
    expect(api.names).toEqual(MIGRATION_NAMES);
    expect(sync.names).toEqual(SYNC_MIGRATION_NAMES);
    expect([...api.tables.keys()]).toEqual(
      expect.arrayContaining(['users', 'refresh_tokens', 'patients', 'studies', 'series', 'instances', 'reports', 'audit_logs']),
    );
    expect([...sync.tables.keys()]).toEqual([
      'sync_updates',
      'sync_snapshots',
      'sync_locks',
      'sync_late_edits',
      'sync_authors',
      'sync_edit_ranges',
    ]);
  });

  it('uses only the shared column types, as SQL Server spells them', () => {
    for (const run of [api, sync]) {
      for (const table of run.tables.values()) {
        for (const column of table.columns.values()) {
          expect(column.type, `${table.name}.${column.name}`).toMatch(TYPE_RE);
          const length = /^NVARCHAR\((\d+)\)$/.exec(column.type)?.[1];
          // NVARCHAR(n) stops at 4000; longer text must be TEXT (NVARCHAR(MAX)).
          if (length) expect(Number(length), `${table.name}.${column.name}`).toBeLessThanOrEqual(4000);
        }
      }
    }
    const users = api.tables.get('users')!.columns;
    // Sequelize 6 maps UUID to CHAR(36) on mssql, not UNIQUEIDENTIFIER: ids compare and sort as
    // strings there exactly as on SQLite and PostgreSQL text comparison, which the keyset cursors rely on.
    expect(users.get('id')!.type).toBe('CHAR(36)');
    expect(users.get('email')).toMatchObject({ type: 'NVARCHAR(254)', unique: true, nullable: false });
    expect(users.get('active')!.type).toBe('BIT');
    expect(users.get('lockedUntil')).toMatchObject({ type: 'DATETIMEOFFSET', nullable: true });
    expect(api.tables.get('reports')!.columns.get('contentJson')!.type).toBe('NVARCHAR(MAX)');
    expect(api.tables.get('studies')!.columns.get('changeSeq')).toMatchObject({ type: 'BIGINT', nullable: false });
    expect(sync.tables.get('sync_updates')!.columns.get('data')!.type).toBe('VARBINARY(MAX)');
  });

  it('makes sequences BIGINT IDENTITY primary keys', () => {
    for (const [run, table] of [
      [api, 'audit_logs'],
      [api, 'hl7_outbox'],
      [api, 'critical_result_events'],
      [sync, 'sync_updates'],
      [sync, 'sync_late_edits'],
      [sync, 'sync_authors'],
      [sync, 'sync_edit_ranges'],
    ] as const) {
      const t = run.tables.get(table)!;
      expect(t.columns.get('id'), table).toMatchObject({ type: 'BIGINT', identity: true, nullable: false });
      expect(t.primaryKey).toEqual(['id']);
    }
    const identities = [...api.tables.values(), ...sync.tables.values()].flatMap((t) =>
      [...t.columns.values()].filter((c) => c.identity).map((c) => `${t.name}.${c.name}`),
    );
    expect(identities.sort()).toEqual([
      'audit_logs.id',
      'critical_result_events.id',
      'hl7_outbox.id',
      'sync_authors.id',
      'sync_edit_ranges.id',
      'sync_late_edits.id',
      'sync_updates.id',
    ]);
  });

  it('keeps every index and key within SQL Server key-size limits, never on MAX columns', () => {
    for (const run of [api, sync]) {
      for (const index of run.indexes) {
        const table = run.tables.get(index.table)!;
        const bytes = index.columns.reduce((sum, c) => sum + keyBytes(table.columns.get(c)!.type), 0);
        expect(bytes, index.name).toBeLessThanOrEqual(1700);
      }
      for (const table of run.tables.values()) {
        const bytes = table.primaryKey.reduce((sum, c) => sum + keyBytes(table.columns.get(c)!.type), 0);
        expect(bytes, `${table.name} primary key (clustered)`).toBeLessThanOrEqual(900);
        for (const column of table.columns.values()) if (column.unique) expect(keyBytes(column.type)).toBeLessThanOrEqual(1700);
      }
    }
  });

  it('names every index uniquely and uses no filtered (partial) index', () => {
    const names = [...api.indexes, ...sync.indexes].map((i) => i.name);
    expect(new Set(names).size).toBe(names.length);
    expect([...api.indexes, ...sync.indexes].filter((i) => i.where !== null)).toEqual([]);
  });

  it('lists the unique keys over nullable columns (SQL Server admits only one NULL in each)', () => {
    const nullableUnique: string[] = [];
    for (const run of [api, sync]) {
      for (const table of run.tables.values()) {
        for (const column of table.columns.values())
          if (column.unique && column.nullable) nullableUnique.push(`${table.name}.${column.name}`);
      }
      for (const index of run.indexes.filter((i) => i.unique)) {
        const table = run.tables.get(index.table)!;
        if (index.columns.some((c) => table.columns.get(c)!.nullable)) nullableUnique.push(`${index.table}.${index.columns.join('+')}`);
      }
    }
    // orthancId is always written by ingestion (ingest.ts) and primarySlot by the API and the
    // 0003 backfill, so neither holds a second NULL in practice. A new entry here needs the same
    // argument, or a NOT NULL column, because PostgreSQL and SQLite would accept what SQL Server refuses.
    expect(nullableUnique.sort()).toEqual(['instances.orthancId', 'reports.primarySlot', 'series.orthancId', 'studies.orthancId']);
  });

  it('emits the append-only triggers (audit trail, report versions) as T-SQL, and no other dialect’s syntax anywhere', () => {
    const trigger = api.other.filter((sql) => /CREATE TRIGGER/i.test(sql));
    expect(trigger).toEqual([
      "CREATE TRIGGER audit_logs_no_change ON audit_logs INSTEAD OF UPDATE, DELETE AS BEGIN THROW 50000, 'audit_logs is append-only', 1; END",
      "CREATE TRIGGER report_versions_no_change ON report_versions INSTEAD OF UPDATE, DELETE AS BEGIN THROW 50000, 'report_versions is append-only', 1; END",
    ]);
    const all = [...api.statements, ...sync.statements].map((s) => s.sql);
    const foreign =
      /\bPRAGMA\b|\bRAISE\s*\(|\$\$|plpgsql|\bBEFORE (UPDATE|DELETE|INSERT)\b|\bAUTOINCREMENT\b|\bSERIAL\b|\bRETURNING\b|\bON CONFLICT\b|\bLIMIT \d|\bBOOLEAN\b|\bBYTEA\b|\bTIMESTAMP WITH TIME ZONE\b|\bDATETIME\b/;
    for (const sql of all) expect(sql, sql.slice(0, 200)).not.toMatch(foreign);
    // Statements that are neither DDL nor generated inserts: the two triggers, 0003's backfill
    // (bracket-quoted) and the search's full-text catalog and index.
    const raw = api.other.filter((sql) => !sql.startsWith('INSERT INTO'));
    expect(raw).toHaveLength(5);
    expect(raw.find((s) => s.startsWith('UPDATE'))).toBe(
      'UPDATE [reports] SET [primarySlot] = CASE WHEN [parentReportId] IS NULL THEN [studyRef] ELSE [id] END',
    );
  });

  it('gives the worklist search a full-text index keyed on a named unique index of the study id', () => {
    expect(api.indexes).toContainEqual({ name: 'studies_search_key', table: 'studies', columns: ['id'], unique: true, where: null });
    const fullText = api.other.filter((sql) => /FULLTEXT/.test(sql));
    expect(fullText).toEqual([
      "IF NOT EXISTS (SELECT 1 FROM sys.fulltext_catalogs WHERE name = 'pacs_search') CREATE FULLTEXT CATALOG pacs_search",
      'CREATE FULLTEXT INDEX ON studies ([searchText]) KEY INDEX studies_search_key ON pacs_search WITH CHANGE_TRACKING AUTO',
    ]);
    // The search column fits a full-text index (not MAX, which would still work but is not what the query expects).
    expect(api.tables.get('studies')!.columns.get('searchText')!.type).toBe('NVARCHAR(1024)');
  });

  it('seeds with multi-row INSERTs of at most 1000 rows, values inlined (no parameters)', () => {
    const inserts = [...api.statements, ...sync.statements].filter((s) => s.sql.startsWith('INSERT INTO'));
    expect(inserts.length).toBeGreaterThan(0);
    for (const insert of inserts) {
      expect(insert.bind).toBeUndefined();
      for (const statement of insert.sql.split(/;(?=INSERT INTO)/)) expect(statement.split('),(').length).toBeLessThanOrEqual(1000);
    }
  });
});

describe('models agree with the migrations on mssql', () => {
  const ALLOWED = new Set(['STRING', 'TEXT', 'UUID', 'DATE', 'BOOLEAN', 'INTEGER', 'BIGINT', 'BLOB']);

  function checkModels(models: Record<string, { getTableName(): unknown; getAttributes(): Record<string, unknown> }>, run: Run) {
    let checked = 0;
    for (const [name, model] of Object.entries(models)) {
      const tableName = String(model.getTableName());
      const table = run.tables.get(tableName);
      expect(table, `${name} → table ${tableName} made by a migration`).toBeDefined();
      for (const [attribute, definition] of Object.entries(model.getAttributes())) {
        const { type, field } = definition as { type: { key: string; toSql(): string }; field: string };
        expect(ALLOWED.has(type.key), `${name}.${attribute}: ${type.key}`).toBe(true);
        const column = table!.columns.get(field);
        expect(column, `${tableName}.${field} exists`).toBeDefined();
        expect(column!.type, `${tableName}.${field}`).toBe(type.toSql());
        checked++;
      }
    }
    return checked;
  }

  it('API models: every attribute a shared type, same SQL type as its migrated column', () => {
    const { sequelize } = recordingSequelize();
    const models = defineModels(sequelize) as unknown as Parameters<typeof checkModels>[0];
    expect(checkModels(models, api)).toBeGreaterThan(80);
  });

  it('sync-server models: the same', () => {
    const { sequelize } = recordingSequelize();
    // The constructor is private in TypeScript only; it just defines the models on `sequelize`.
    const Store = SequelizeStore as unknown as new (s: Sequelize) => { m: Parameters<typeof checkModels>[0] };
    expect(checkModels(new Store(sequelize).m, sync)).toBe(31);
  });
});

describe('SQL Server statement limits', () => {
  it('create binds one parameter per column (far below 2100); bulkCreate and IN lists are inlined and batched', async () => {
    const { sequelize, statements } = recordingSequelize();
    const models = defineModels(sequelize);
    await models.Study.create({
      studyInstanceUid: '1.2.3',
      patientRef: '00000000-0000-4000-8000-000000000000',
      patientName: 'DOE^JANE',
      patientId: 'P1',
      accessionNumber: 'A1',
      receivedAt: new Date(),
    }).catch(() => undefined); // the recorder returns no row to read back
    const insert = statements.find((s) => s.sql.startsWith('INSERT INTO [studies]'))!;
    expect(Array.isArray(insert.bind) ? insert.bind.length : Object.keys(insert.bind as object).length).toBeLessThan(100);

    statements.length = 0;
    await models.AuditLog.bulkCreate(
      Array.from({ length: 3000 }, () => ({ eventId: 'Query', action: 'E' as const, outcome: 0 as const, eventDateTime: new Date() })),
    ).catch(() => undefined);
    expect(statements).toHaveLength(1);
    expect(statements[0]!.bind).toBeUndefined();
    const batches = statements[0]!.sql.split(/;(?=INSERT INTO)/);
    expect(batches.length).toBeGreaterThan(1);
    for (const batch of batches) expect(batch.split('),(').length).toBeLessThanOrEqual(1000);
    // audit_logs' trigger is INSTEAD OF UPDATE, DELETE, so an INSERT … OUTPUT INSERTED without INTO is allowed.
    expect(batches[0]).toContain('OUTPUT INSERTED.[id]');

    statements.length = 0;
    await models.Study.findAll({ where: { studyInstanceUid: { [Op.in]: Array.from({ length: 3000 }, (_, i) => `1.2.${i}`) } } });
    expect(statements[0]!.bind).toBeUndefined();
    expect(statements[0]!.sql).toContain("N'1.2.2999'");
  });
});

describe('raw SQL in the sources', () => {
  function sources(dir: string): string[] {
    return readdirSync(dir).flatMap((entry) => {
      const full = path.join(dir, entry);
      if (statSync(full).isDirectory()) return sources(full);
      return full.endsWith('.ts') ? [full] : [];
    });
  }

  it('appears only in files that branch on the dialect, or is dialect-neutral', () => {
    const files = [...sources(path.join(ROOT, 'api/src')), ...sources(path.join(ROOT, 'sync-server/src'))];
    const offenders: string[] = [];
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      const raw = [...text.matchAll(/\.query\(\s*([`'"])([^`'"]*)/g), ...text.matchAll(/\bliteral\(\s*([`'"])([^`'"]*)/g)];
      if (raw.length === 0) continue;
      const branches = /getDialect\(\)|dialect === '(sqlite|postgres|mssql)'/.test(text);
      // SQL the dialect's own query generator writes (a subquery) is neutral too.
      const neutral = raw.every((m) => /^SELECT 1$/.test(m[2]!) || /^\(\$\{generator\.selectQuery\(/.test(m[2]!));
      if (!branches && !neutral) offenders.push(path.relative(ROOT, file));
    }
    expect(offenders).toEqual([]);
  });
});

describe('the worklist search on SQL Server', () => {
  it.each([
    ['one word', 'muller', `N'"muller*"'`],
    ['two words, both required', 'Müller ZOË', `N'"muller*" AND "zoe*"'`],
    ['an apostrophe doubled for T-SQL, double quotes dropped from the term', `o'brien "annie" "`, `N'"o''brien*" AND "annie*"'`],
    ['operators read as words', 'near or not', `N'"near*" AND "or*" AND "not*"'`],
  ])('searches full-text word prefixes: %s', async (_what, q, term) => {
    const { sequelize, statements } = recordingSequelize();
    const { Study } = defineModels(sequelize);
    await Study.findAll({ where: { [Op.and]: textSearchWhere(q, sequelize) }, limit: 51, order: [['id', 'ASC']] });
    expect(statements).toHaveLength(1);
    expect(statements[0]!.sql).toContain(`[Study].[id] IN (SELECT [id] FROM [studies] WHERE CONTAINS([searchText], ${term}))`);
    expect(statements[0]!.sql).not.toMatch(/LIKE/);
  });
});

describe('the audit trail page on SQL Server', () => {
  it('takes the first rows with TOP, not LIMIT, and writes values as T-SQL literals', () => {
    const { sequelize } = recordingSequelize();
    const sql = auditPageStatement(sequelize, { patientId: "O'Brien", outcome: 8, from: '2026-06-01T00:00:00.000Z' }, 50);
    expect(sql).toMatch(/^SELECT TOP \(51\) "id" FROM "audit_logs" WHERE /);
    expect(sql).toContain(`"patientId" = N'O''Brien'`);
    expect(sql).toContain('"outcome" = 8');
    expect(sql).toMatch(/"eventDateTime" >= N?'2026-06-01 00:00:00\.000 \+00:00'/);
    expect(sql).toMatch(/ORDER BY "id" DESC$/);
    expect(sql).not.toMatch(/LIMIT/);
  });
});
