/**
 * The API's database (DATABASE_URL), opened by the connector it shares with the sync-server
 * (server-kit/src/database). Many requests run at once here: a pool of 10 connections.
 */
import { connectDatabase as connectSharedDatabase } from '@pacs/server-kit/database';
import type { Sequelize } from 'sequelize';

const POOL_MAX = 10;

export function connectDatabase(url: string): Promise<Sequelize> {
  return connectSharedDatabase(url, { poolMax: POOL_MAX, trustServerCertificate: process.env.PACS_MSSQL_TRUST_CERT === 'true' });
}
