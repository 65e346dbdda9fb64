/**
 * A Dexie table whose records are sealed under the vault's data key: only the fields named as
 * plain (ids, versions, indexes without patient data) stay readable; the whole value is in `data`.
 *
 * WebCrypto is asynchronous and an IndexedDB transaction ends when it waits on anything else, so
 * values are sealed before a transaction and opened after it: `seal` for writes that must share a
 * transaction with other tables (then `raw`), `put`/`get` for the simple cases.
 */
import type { Table } from 'dexie';
import { openJson, type Sealed, sealJson } from './sealed';

export type SealedRecord = Sealed & Record<string, unknown>;

export interface SealedTableOptions<T> {
  /** Bound into each record's additional data with its identity. */
  name: string;
  /** The field that identifies a value; kept readable (a primary or unique key). */
  idField: keyof T & string;
  /** Other fields kept readable, for indexes (never patient data). */
  indexes?: (value: T) => Record<string, string | number>;
  /** Fields the table adds (an auto-increment key), copied back into the opened value. */
  keep?: readonly string[];
}

export class SealedTable<T extends object, K extends string | number = string> {
  constructor(
    /** The Dexie table of sealed records. */
    readonly raw: Table<SealedRecord, K>,
    private readonly key: () => CryptoKey,
    private readonly options: SealedTableOptions<T>,
  ) {}

  async seal(value: T): Promise<SealedRecord> {
    const id = value[this.options.idField];
    const sealed = await sealJson(this.key(), value, this.aad(id));
    return { ...sealed, [this.options.idField]: id, ...this.options.indexes?.(value) };
  }

  sealAll(values: readonly T[]): Promise<SealedRecord[]> {
    return Promise.all(values.map((value) => this.seal(value)));
  }

  /** The value, or null for a record that does not open (sealed under another key, or altered). */
  async open(record: SealedRecord | undefined): Promise<T | null> {
    if (!record?.data) return null;
    let value: T;
    try {
      value = await openJson<T>(this.key(), record, this.aad(record[this.options.idField]));
    } catch {
      return null;
    }
    for (const field of this.options.keep ?? []) if (record[field] !== undefined) (value as Record<string, unknown>)[field] = record[field];
    return value;
  }

  async openAll(records: readonly (SealedRecord | undefined)[]): Promise<T[]> {
    const opened: (T | null)[] = await Promise.all(records.map((record) => this.open(record)));
    return opened.filter((value): value is T => value !== null);
  }

  async get(key: K): Promise<T | null> {
    return this.open(await this.raw.get(key));
  }

  async bulkGet(keys: readonly K[]): Promise<(T | null)[]> {
    const records = await this.raw.bulkGet([...keys]);
    return Promise.all(records.map((record) => this.open(record)));
  }

  async toArray(): Promise<T[]> {
    return this.openAll(await this.raw.toArray());
  }

  async where(index: string, value: string | number): Promise<T[]> {
    return this.openAll(await this.raw.where(index).equals(value).toArray());
  }

  async put(value: T): Promise<void> {
    await this.raw.put(await this.seal(value));
  }

  async bulkPut(values: readonly T[]): Promise<void> {
    if (values.length) await this.raw.bulkPut(await this.sealAll(values));
  }

  private aad(id: unknown): string {
    return `${this.options.name}:${String(id)}`;
  }
}
