/**
 * Results out, measured: signature → ORU^R01 acknowledged by the hospital's receiver. The API and
 * the real sync-server run in their own processes on one SQLite file; the receiver (@medplum/hl7's
 * server, answering AA) and the signing client run here. Reports are signed one after another; for
 * each, the time until the receiver holds the message and has sent its ACK, counted from the
 * finalize answer (the signature committed, the ORU in the outbox) and from the finalize request
 * (signing included). Goal: p95 < 500 ms.
 *
 * Run: pnpm --filter @pacs/api exec tsx bench/results-out.ts [--reports 200]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { type Hl7Connection, type Hl7MessageEvent, Hl7Server } from '@medplum/hl7';
import type { FastifyInstance } from 'fastify';
import * as Y from 'yjs';
import { DEV_PASSWORDS } from '../src/config';
import { connectDatabase } from '../src/db/connect';
import { migrate } from '../src/db/migrate';
import { defineModels } from '../src/db/models';
import { DEMO_ATTENDING_EMAIL } from '../src/db/seed';
import { seedStudy } from '../test/support/studies';
import { DOCUMENT_SECRET, freePort, SERVICE_TOKEN, serverState, startSyncServer } from '../test/support/sync-server';
import { benchApiEnv, machine, startServer } from './support';

const { values } = parseArgs({ options: { reports: { type: 'string', default: '200' } } });
const REPORTS = Number(values.reports);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function main() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pacs-bench-results-'));
  const databaseUrl = `sqlite:${path.join(dir, 'pacs.sqlite')}`;
  const sequelize = await connectDatabase(databaseUrl);
  await migrate(sequelize);
  const models = defineModels(sequelize);
  const fake = { db: { models, sequelize } } as unknown as FastifyInstance;
  const studies: { id: string; accession: string }[] = [];
  for (let i = 0; i < REPORTS + 5; i += 1) {
    const accession = `RES${i}`;
    studies.push({ id: (await seedStudy(fake, { modalities: ['CT'], accessionNumber: accession })).id, accession });
  }
  await sequelize.close();

  // The hospital's receiver: when each result arrived (by accession, OBR-18), answered AA at once.
  const arrived = new Map<string, number>();
  const receiverPort = await freePort();
  const receiver = new Hl7Server((connection: Hl7Connection) => {
    connection.addEventListener('message', ({ message }: Hl7MessageEvent) => {
      connection.send(message.buildAck({ ackCode: 'AA' }));
      arrived.set(message.getSegment('OBR')?.getField(18)?.toString() ?? '', performance.now());
    });
  });
  receiver.start(receiverPort, 'utf-8');

  const sync = await startSyncServer(databaseUrl, await freePort());
  const api = await startServer(
    {
      ...benchApiEnv(dir, databaseUrl, { url: sync.url, serviceToken: SERVICE_TOKEN, documentSecret: DOCUMENT_SECRET }),
      PACS_HL7_RESULT_DESTINATIONS: `RIS@127.0.0.1:${receiverPort}`,
    },
    await freePort(),
  );
  try {
    const login = await fetch(`${api.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: DEMO_ATTENDING_EMAIL, password: DEV_PASSWORDS.radiologist }),
    });
    const { accessToken } = (await login.json()) as { accessToken: string };
    const call = (method: string, url: string, body?: unknown) =>
      fetch(`${api.url}${url}`, {
        method,
        headers: { authorization: `Bearer ${accessToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    // From the finalize answer (negative: the ORU arrived before the HTTP answer), and from the request.
    const latencies: number[] = [];
    const fromRequest: number[] = [];
    for (const [i, study] of studies.entries()) {
      const report = (await (await call('POST', `/api/studies/${study.id}/report`, {})).json()) as { id: string };
      const doc = new Y.Doc();
      Y.applyUpdate(doc, Buffer.from((await serverState(sync.url, `report:${report.id}`)).update, 'base64'));
      const body = {
        stateVector: Buffer.from(Y.encodeStateVector(doc)).toString('base64'),
        snapshot: Buffer.from(Y.encodeSnapshot(Y.snapshot(doc))).toString('base64'),
      };
      const requested = performance.now();
      const signed = await call('POST', `/api/reports/${report.id}/finalize`, body);
      if (!signed.ok) throw new Error(`finalize: ${signed.status} ${await signed.text()}`);
      await signed.arrayBuffer();
      const committed = performance.now();
      const deadline = Date.now() + 30_000;
      while (!arrived.has(study.accession)) {
        if (Date.now() > deadline) throw new Error(`no ORU for ${study.accession}`);
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      // The first five warm up connections and code paths.
      if (i >= 5) {
        latencies.push(arrived.get(study.accession)! - committed);
        fromRequest.push(arrived.get(study.accession)! - requested);
      }
    }
    for (const [name, list] of [
      ['finalize answer → ORU acknowledged', latencies],
      ['finalize request → ORU acknowledged', fromRequest],
    ] as const) {
      list.sort((a, b) => a - b);
      console.log(
        `${name}: p50 ${percentile(list, 50).toFixed(1)} ms, p95 ${percentile(list, 95).toFixed(1)} ms, min ${list[0]!.toFixed(1)}, max ${list.at(-1)!.toFixed(1)} ms (n=${list.length})`,
      );
    }
    console.log(machine());
  } finally {
    await api.stop();
    await sync.stop();
    await receiver.stop({ forceDrainTimeoutMs: 100 });
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
