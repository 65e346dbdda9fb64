/** What the document layer needs from a connection (connection.ts implements it). */
export interface Peer {
  readonly id: number;
  readonly userId: string;
  readonly userName: string;
  /** The token's role: shown in presence (PRES-2). */
  readonly role: string;
  /** What the token allows, lowered to read-only by the API (REVOKE-2); a locked document overrides it to read-only. */
  readonly mode: 'rw' | 'ro';
  send(message: Uint8Array): void;
  close(code: number, reason: string): void;
}
