/**
 * Orders in, measured: the API (src/server.ts, its own process, SQLite in a fresh data dir) with its
 * MLLP listener and modality worklist folder; messages come from @medplum/hl7's client in this process.
 *  1. intake: ORM^O01 messages over ONE connection, each sent after the previous ACK (as MLLP
 *     senders do) → messages per second. Goal ≥ 500/s.
 *  2. order → visible: one order at a time, the time from sending it until the worklist API lists
 *     it, and until its modality worklist item file exists → p50/p95. Goal p95 < 100 ms.
 *
 * Run: pnpm --filter @pacs/api exec tsx bench/hl7-orders.ts [--intake 5000] [--visible 200]
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Hl7Message } from '@medplum/core';
import { Hl7Client } from '@medplum/hl7';
import { DEV_PASSWORDS } from '../src/config';
import { freePort } from '../test/support/sync-server';
import { machine, startServer } from './support';

const { values } = parseArgs({ options: { intake: { type: 'string', default: '5000' }, visible: { type: 'string', default: '200' } } });

let serial = 0;
function orm(tag: string): { text: string; accession: string } {
  serial += 1;
  const accession = `B${tag}${serial}`.slice(0, 16);
  const placer = `P${tag}${serial}`;
  const text = [
    `MSH|^~\\&|BENCHRIS|HOSP|PACS|RADIOLOGY|20261203101500||ORM^O01|C${tag}${serial}|P|2.5.1|||AL|NE||UNICODE UTF-8`,
    `PID|1||MRN${serial % 5000}^^^HOSP^MR||Bench^Patient${serial % 5000}||19700101|F`,
    'PV1|1|O|RAD^^^HOSP||||||1234^Referrer^Robert^^^Dr',
    `ORC|NW|${placer}^BENCHRIS|F${serial}^PACS||SC|||||||1234^Ordering^Olga^^^Dr`,
    `OBR|1|${placer}^BENCHRIS|F${serial}^PACS|CTHEAD^CT head^L|||||||||Headache|||||${accession}||||||CT||^^^20261204083000^^R||||Rule out bleed`,
  ].join('\r');
  return { text, accession };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function main() {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'pacs-bench-hl7-'));
  const mwlDir = path.join(dataDir, 'worklists');
  const [apiPort, hl7Port] = [await freePort(), await freePort()];
  const server = await startServer(
    { PACS_DATA_DIR: dataDir, PACS_HL7_PORT: String(hl7Port), PACS_MWL_DIR: mwlDir, PACS_ENV: 'development' },
    apiPort,
  );
  const client = new Hl7Client({ host: '127.0.0.1', port: hl7Port, encoding: 'utf-8', keepAlive: true });
  try {
    const login = await fetch(`${server.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'admin@pacs.local', password: DEV_PASSWORDS.admin }),
    });
    const { accessToken } = (await login.json()) as { accessToken: string };

    // Warm-up: connections, JIT, the first transactions.
    for (let i = 0; i < 200; i++) await client.sendAndWait(Hl7Message.parse(orm('W').text), { timeoutMs: 10_000 });

    const intake = Number(values.intake);
    const started = performance.now();
    let refused = 0;
    for (let i = 0; i < intake; i++) {
      const ack = await client.sendAndWait(Hl7Message.parse(orm('I').text), { timeoutMs: 10_000 });
      if (ack.getSegment('MSA')?.getField(1)?.toString() !== 'AA') refused += 1;
    }
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `intake: ${intake} ORM^O01 over one connection in ${seconds.toFixed(2)} s = ${(intake / seconds).toFixed(0)} messages/s (${refused} not AA)`,
    );

    const worklist: number[] = [];
    const mwl: number[] = [];
    for (let i = 0; i < Number(values.visible); i++) {
      const { text, accession } = orm('V');
      const t0 = performance.now();
      await client.sendAndWait(Hl7Message.parse(text), { timeoutMs: 10_000 });
      let listedAt = 0;
      let fileAt = 0;
      // Every order sent so far is still scheduled, so the folder holds one item more than before this one.
      const itemsExpected = 200 + intake + i + 1;
      while (!listedAt || !fileAt) {
        if (!listedAt) {
          const response = await fetch(`${server.url}/api/studies?q=${accession}&includeTotal=false`, {
            headers: { authorization: `Bearer ${accessToken}` },
          });
          const page = (await response.json()) as { items: { accessionNumber: string; id: string }[] };
          if (page.items.some((s) => s.accessionNumber === accession)) listedAt = performance.now();
        }
        if (!fileAt && existsSync(mwlDir) && readdirSync(mwlDir).filter((f) => f.endsWith('.wl')).length >= itemsExpected) {
          fileAt = performance.now();
        }
        if (performance.now() - t0 > 10_000) throw new Error(`order ${accession} not visible after 10 s`);
      }
      worklist.push(listedAt - t0);
      mwl.push(fileAt - t0);
    }
    worklist.sort((a, b) => a - b);
    mwl.sort((a, b) => a - b);
    const fmt = (xs: number[]) =>
      `p50 ${percentile(xs, 50).toFixed(1)} ms, p95 ${percentile(xs, 95).toFixed(1)} ms, max ${xs.at(-1)!.toFixed(1)} ms`;
    console.log(`order → worklist API lists it: ${fmt(worklist)} (n=${worklist.length})`);
    console.log(`order → modality worklist item written: ${fmt(mwl)} (n=${mwl.length})`);
    console.log(machine());
  } finally {
    await client.close();
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
