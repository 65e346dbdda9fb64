/** An HL7 receiver over MLLP (@medplum/hl7's client): the row's text is the message; AA or CA is delivered. */
import { Hl7Message } from '@medplum/core';
import { Hl7Client } from '@medplum/hl7';
import type { OutboxAttributes } from '../db/order-models';
import type { Delivery, Destination, ResultDestination } from './destinations';

export class MllpDestination implements Destination {
  private client: Hl7Client | null = null;

  constructor(
    private readonly target: ResultDestination,
    private readonly ackTimeoutMs: number,
  ) {}

  get name(): string {
    return this.target.name;
  }

  async deliver(row: OutboxAttributes): Promise<Delivery> {
    const client =
      this.client ??
      new Hl7Client({
        host: this.target.host,
        port: this.target.port,
        encoding: 'utf-8',
        keepAlive: true,
        connectTimeout: this.ackTimeoutMs,
      });
    this.client = client;
    try {
      const ack = await client.sendAndWait(Hl7Message.parse(row.text), { timeoutMs: this.ackTimeoutMs });
      const msa = ack.getSegment('MSA');
      const ackCode = (msa?.getField(1)?.toString() ?? '').toUpperCase();
      if (ackCode === 'AA' || ackCode === 'CA') return { ok: true, ackCode };
      const reason = `${ackCode || 'no MSA'}: ${msa?.getField(3)?.toString() ?? ''}`.trim();
      return { ok: false, ackCode, error: reason, permanent: ackCode === 'AR' || ackCode === 'CR' };
    } catch (error) {
      // The connection is in an unknown state: the next attempt opens a new one.
      this.client = null;
      await client.close().catch(() => {});
      return { ok: false, ackCode: '', error: (error as Error).message || 'connection failed', permanent: false };
    }
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = null;
    await client?.close().catch(() => {});
  }
}
