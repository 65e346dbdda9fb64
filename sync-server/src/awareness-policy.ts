/**
 * What a connection may say in awareness (SPEC.md PRES-*). Awareness is relayed to every peer of
 * the document, so unchecked it lets one client rewrite or remove others' presence, pose as
 * someone else, and make the server multiply megabytes. Each entry of a client's awareness update
 * passes here before the server's Awareness applies it:
 *  - PRES-1 a client id belongs to the first connection that introduced it; only that connection
 *    may change or remove it (an id someone else already shows is never taken over), except by
 *    another connection of the same user (a reconnect while the old socket is not yet known dead);
 *  - PRES-2 `user.name` and `user.role` come from the connection's token, whatever the client wrote;
 *  - PRES-3 a state above MAX_AWARENESS_STATE_BYTES, or more than MAX_AWARENESS_IDS_PER_CONNECTION
 *    ids per connection, is dropped (counted in pacs_sync_awareness_dropped_total{reason}).
 * Clocks are kept as sent: the web app reads its own clock in the echo (web/src/report).
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { ProtocolError } from './protocol';

export const MAX_AWARENESS_STATE_BYTES = 8 * 1024;
/** A provider uses one id per connection; a little slack for a client that re-creates its Awareness. */
export const MAX_AWARENESS_IDS_PER_CONNECTION = 4;

export type AwarenessDropReason = 'foreign-client' | 'too-large' | 'too-many-clients' | 'not-an-object';

export interface AwarenessIdentity {
  readonly userId: string;
  readonly userName: string;
  readonly role: string;
}

export interface AwarenessOwnership {
  /** The owner of a client id on this instance, if any. */
  ownerOf(clientId: number): { readonly userId: string } | undefined;
  /** True when a state for the id is shown (from another connection or another instance). */
  isShown(clientId: number): boolean;
  /** Ids this connection already owns. */
  readonly owned: Set<number>;
}

const CSS_COLOUR = /^#[0-9a-fA-F]{3,8}$/;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The client's state with identity from the token; null for a state that is not a JSON object. */
function withIdentity(state: unknown, identity: AwarenessIdentity): Record<string, unknown> | null {
  if (!isPlainObject(state)) return null;
  if (!('user' in state)) return state;
  const given = isPlainObject(state.user) ? state.user : {};
  const user: Record<string, unknown> = { ...given, name: identity.userName, role: identity.role };
  // The colour ends up in a style attribute of every peer's editor: a CSS colour literal or nothing.
  if (typeof given.color !== 'string' || !CSS_COLOUR.test(given.color)) delete user.color;
  return { ...state, user };
}

export interface FilteredAwareness {
  /** The update to apply (same clocks), or null when nothing is left. */
  update: Uint8Array | null;
  /** Ids this update binds to the connection (first-come). */
  claimed: number[];
  dropped: AwarenessDropReason[];
}

/** Filters one awareness update from a connection. Throws ProtocolError when it does not decode. */
export function filterAwarenessUpdate(
  update: Uint8Array,
  identity: AwarenessIdentity,
  ownership: AwarenessOwnership,
  self: unknown,
): FilteredAwareness {
  const entries: { clientId: number; clock: number; json: string }[] = [];
  const claimed: number[] = [];
  const dropped: AwarenessDropReason[] = [];
  try {
    const decoder = decoding.createDecoder(update);
    const count = decoding.readVarUint(decoder);
    for (let i = 0; i < count; i++) {
      const clientId = decoding.readVarUint(decoder);
      const clock = decoding.readVarUint(decoder);
      const json = decoding.readVarString(decoder);
      if (json.length > MAX_AWARENESS_STATE_BYTES || Buffer.byteLength(json) > MAX_AWARENESS_STATE_BYTES) {
        dropped.push('too-large');
        continue;
      }
      const state: unknown = JSON.parse(json);
      const owner = ownership.ownerOf(clientId);
      if (owner !== undefined && owner !== self && owner.userId !== identity.userId) {
        dropped.push('foreign-client');
        continue;
      }
      const taken = owner === undefined || owner !== self;
      if (owner === undefined) {
        // Removing or taking over an id that is not ours (or not ours yet).
        if (state === null || ownership.isShown(clientId)) {
          dropped.push('foreign-client');
          continue;
        }
        if (ownership.owned.size + claimed.length >= MAX_AWARENESS_IDS_PER_CONNECTION) {
          dropped.push('too-many-clients');
          continue;
        }
      }
      let out = 'null';
      if (state !== null) {
        const rewritten = withIdentity(state, identity);
        if (rewritten === null) {
          dropped.push('not-an-object');
          continue;
        }
        out = JSON.stringify(rewritten);
      }
      if (taken) claimed.push(clientId);
      entries.push({ clientId, clock, json: out });
    }
    if (decoding.hasContent(decoder)) throw new Error('trailing bytes');
  } catch (err) {
    throw new ProtocolError(`awareness update: ${err instanceof Error ? err.message : 'malformed'}`);
  }
  if (entries.length === 0) return { update: null, claimed, dropped };
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, entries.length);
  for (const e of entries) {
    encoding.writeVarUint(encoder, e.clientId);
    encoding.writeVarUint(encoder, e.clock);
    encoding.writeVarString(encoder, e.json);
  }
  return { update: encoding.toUint8Array(encoder), claimed, dropped };
}
