/**
 * Wiping a revoked device: every database of every user on it (worklist rows, offline studies and
 * their keys, pending changes, the local copies of reports), every Cache Storage cache but the app's
 * own precache (no patient data there), and the remembered session. Then the device tells the
 * server, proving itself with its identity; until the server has the report it is kept and sent
 * again at the next start, because the server refuses this device's sign-ins until it knows.
 */
import type { WipeSummary } from '@pacs/shared';
import Dexie from 'dexie';
import { ApiError, api } from '../api/client';
import { DB_PREFIX, wipeAllWorklistDbs } from './db';
import { deviceIdentity, renewDeviceIdentity } from './identity';
import { closeAllVaults } from './vault/vault';

const PENDING_REPORT = 'pacs.device.wipeReport';
/** Left in localStorage by the session (session.ts); a user's name and role, gone with the rest. */
const SESSION_KEYS = ['pacs.lastSession', 'pacs.knownDbs'];

async function databaseNames(): Promise<string[]> {
  try {
    return (await Dexie.getDatabaseNames()).filter((name) => name.startsWith(DB_PREFIX));
  } catch {
    return [];
  }
}

/** What the device holds, counted before it goes (best effort: a damaged database counts as empty). */
async function countHoldings(names: string[]): Promise<Omit<WipeSummary, 'databases' | 'caches'>> {
  let studies = 0;
  let worklistRows = 0;
  let reports = 0;
  for (const name of names) {
    if (name.includes('.report.')) {
      reports += 1;
      continue;
    }
    const db = new Dexie(name);
    try {
      await db.open();
      const tables = new Set(db.tables.map((t) => t.name));
      if (tables.has('offlineStudies')) studies += await db.table('offlineStudies').count();
      if (tables.has('studies')) worklistRows += await db.table('studies').count();
    } catch {
      // counted as empty
    } finally {
      db.close();
    }
  }
  return { studies, reports, worklistRows };
}

async function clearCaches(): Promise<number> {
  if (typeof caches === 'undefined') return 0;
  const names = (await caches.keys()).filter((name) => !name.startsWith('workbox-precache'));
  await Promise.all(names.map((name) => caches.delete(name)));
  return names.length;
}

/** Removes the device's patient data and reports it (or keeps the report for later). */
export async function wipeDevice(): Promise<WipeSummary> {
  const names = await databaseNames();
  const counted = await countHoldings(names);
  closeAllVaults();
  await wipeAllWorklistDbs();
  // Report copies and anything the remembered list missed: every database of ours.
  await Promise.all((await databaseNames()).map((name) => Dexie.delete(name)));
  const summary: WipeSummary = { databases: names.length, caches: await clearCaches(), ...counted };
  for (const key of SESSION_KEYS) localStorage.removeItem(key);
  const pending = readPending();
  // A second wipe before the first was reported: the report says what both removed.
  const report = pending ? addUp(pending, summary) : summary;
  localStorage.setItem(PENDING_REPORT, JSON.stringify(report));
  await sendPendingWipeReport();
  return report;
}

function readPending(): WipeSummary | null {
  try {
    return JSON.parse(localStorage.getItem(PENDING_REPORT) ?? 'null') as WipeSummary | null;
  } catch {
    return null;
  }
}

function addUp(a: WipeSummary, b: WipeSummary): WipeSummary {
  return {
    databases: a.databases + b.databases,
    studies: a.studies + b.studies,
    reports: a.reports + b.reports,
    worklistRows: a.worklistRows + b.worklistRows,
    caches: a.caches + b.caches,
  };
}

/**
 * Sends a wipe report still waiting (at start, and right after a wipe). Answers whether none is
 * left. Once the server has it (or refuses this identity for good), the identity is renewed: the
 * next sign-in is a new device.
 */
export async function sendPendingWipeReport(): Promise<boolean> {
  const wiped = readPending();
  if (!wiped) return true;
  try {
    await api.reportWipe({ device: deviceIdentity(), wiped });
  } catch (error) {
    // 401/409: the server does not know this identity as a revoked device; nothing to wait for.
    if (!(error instanceof ApiError) || error.status === 429) return false;
  }
  localStorage.removeItem(PENDING_REPORT);
  renewDeviceIdentity();
  return true;
}
