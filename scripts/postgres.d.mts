export interface PostgresServer {
  /** The superuser's URL (trust authentication, loopback only). */
  url: string;
  stop(): void;
}

/** A throwaway PostgreSQL cluster on a free loopback port (fsync off unless `durable`). */
export function startPostgres(options?: { durable?: boolean }): Promise<PostgresServer>;

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number>;
