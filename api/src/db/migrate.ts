/**
 * The API's migrations, run at start-up in order, each once, by the runner it shares with the
 * sync-server (ledger `pacs_migrations`).
 */
import { type Migration, type MigrationPlan, migrator as planMigrator, runMigrations } from '@pacs/server-kit/database';
import type { Sequelize } from 'sequelize';
import * as initial from './migrations/0001-initial';
import * as worklistFeed from './migrations/0002-worklist-feed';
import * as reporting from './migrations/0003-reporting';
import * as orders from './migrations/0004-orders';
import * as resultsOutbox from './migrations/0005-results-outbox';
import * as ordersChanged from './migrations/0006-orders-changed';
import * as criticalResults from './migrations/0007-critical-results';
import * as mfa from './migrations/0008-mfa';
import * as sso from './migrations/0009-sso';
import * as devices from './migrations/0010-devices';
import * as restrictedAccess from './migrations/0011-restricted-access';
import * as measurements from './migrations/0013-measurements';
import * as structuredTemplates from './migrations/0014-structured-templates';
import * as reportSignature from './migrations/0015-report-signature';
import * as reportVersions from './migrations/0016-report-versions';
import * as deviceScope from './migrations/0017-device-scope';
import * as offlineAuditChains from './migrations/0018-offline-audit-chains';
import * as studySearch from './migrations/0019-study-search';
import * as auditFilters from './migrations/0020-audit-filters';

const MIGRATIONS: Migration[] = [
  { name: '0001-initial', up: initial.up },
  { name: '0002-worklist-feed', up: worklistFeed.up },
  { name: '0003-reporting', up: reporting.up },
  { name: '0004-orders', up: orders.up },
  { name: '0005-results-outbox', up: resultsOutbox.up },
  { name: '0006-orders-changed', up: ordersChanged.up },
  { name: '0007-critical-results', up: criticalResults.up },
  { name: '0008-mfa', up: mfa.up },
  { name: '0009-sso', up: sso.up },
  { name: '0010-devices', up: devices.up },
  { name: '0011-restricted-access', up: restrictedAccess.up },
  { name: '0013-measurements', up: measurements.up },
  { name: '0014-structured-templates', up: structuredTemplates.up },
  { name: '0015-report-signature', up: reportSignature.up },
  { name: '0016-report-versions', up: reportVersions.up },
  { name: '0017-device-scope', up: deviceScope.up },
  { name: '0018-offline-audit-chains', up: offlineAuditChains.up },
  { name: '0019-study-search', up: studySearch.up },
  { name: '0020-audit-filters', up: auditFilters.up },
];

const PLAN: MigrationPlan = { migrations: MIGRATIONS, ledgerTable: 'pacs_migrations' };

export const migrator = (sequelize: Sequelize) => planMigrator(sequelize, PLAN);

export const migrate = (sequelize: Sequelize): Promise<string[]> => runMigrations(sequelize, PLAN);

export const MIGRATION_NAMES = MIGRATIONS.map((m) => m.name);
