/**
 * The API's database (DUR-1), opened by the connector the sync-server shares with the API
 * (server-kit/src/database). Writes are batched per document: a pool of 5 connections.
 */
import { connectDatabase as connectSharedDatabase } from '@pacs/server-kit/database';
import type { Sequelize } from 'sequelize';

const POOL_MAX = 5;

export function connectDatabase(url: string): Promise<Sequelize> {
  return connectSharedDatabase(url, { poolMax: POOL_MAX, trustServerCertificate: process.env.PACS_MSSQL_TRUST_CERT === 'true' });
}
