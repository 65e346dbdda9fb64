/**
 * y-websocket wire format (PROTO-1): every frame is `varUint(messageType) · payload`, lib0 encoding.
 *   0 sync:      varUint(0 step1 | 1 step2 | 2 update) · varUint8Array(state vector | update)
 *   1 awareness: varUint8Array(awareness update)
 *   3 query awareness (client → server): no payload
 *   100 notice (server → client): varString(JSON SyncNotice)
 * Message type 2 (auth) is never sent by the server: access is decided at connect time and
 * refusals are close codes.
 */
import { MESSAGE_TYPE_NOTICE, type SyncNotice } from '@pacs/shared';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as syncProtocol from 'y-protocols/sync';

export const MESSAGE_SYNC = 0;
export const MESSAGE_AWARENESS = 1;
export const MESSAGE_AUTH = 2;
export const MESSAGE_QUERY_AWARENESS = 3;
export const SYNC_STEP1 = syncProtocol.messageYjsSyncStep1;
export const SYNC_STEP2 = syncProtocol.messageYjsSyncStep2;
export const SYNC_UPDATE = syncProtocol.messageYjsUpdate;

export class ProtocolError extends Error {
  override name = 'ProtocolError';
}

export type ClientMessage =
  | { kind: 'sync-step1'; stateVector: Uint8Array }
  | { kind: 'sync-update'; step: 'step2' | 'update'; update: Uint8Array }
  | { kind: 'awareness'; update: Uint8Array }
  | { kind: 'query-awareness' };

/**
 * Decodes one client frame completely, or throws ProtocolError (PROTO-2): truncated varints,
 * lengths beyond the frame, unknown types and trailing bytes are all errors. lib0 never allocates
 * from a declared length (it takes a view, bounds-checked), so a huge length cannot exhaust memory.
 */
export function decodeClientMessage(frame: Uint8Array): ClientMessage {
  try {
    const decoder = decoding.createDecoder(frame);
    const type = decoding.readVarUint(decoder);
    let message: ClientMessage;
    switch (type) {
      case MESSAGE_SYNC: {
        const step = decoding.readVarUint(decoder);
        const payload = decoding.readVarUint8Array(decoder);
        if (step === SYNC_STEP1) message = { kind: 'sync-step1', stateVector: payload };
        else if (step === SYNC_STEP2) message = { kind: 'sync-update', step: 'step2', update: payload };
        else if (step === SYNC_UPDATE) message = { kind: 'sync-update', step: 'update', update: payload };
        else throw new ProtocolError(`unknown sync step ${step}`);
        break;
      }
      case MESSAGE_AWARENESS:
        message = { kind: 'awareness', update: decoding.readVarUint8Array(decoder) };
        break;
      case MESSAGE_QUERY_AWARENESS:
        message = { kind: 'query-awareness' };
        break;
      default:
        throw new ProtocolError(`unsupported message type ${type}`);
    }
    if (decoding.hasContent(decoder)) throw new ProtocolError('trailing bytes after the message');
    return message;
  } catch (err) {
    if (err instanceof ProtocolError) throw err;
    throw new ProtocolError(err instanceof Error ? err.message : 'malformed message');
  }
}

export function encodeSyncStep1(stateVector: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MESSAGE_SYNC);
  encoding.writeVarUint(encoder, SYNC_STEP1);
  encoding.writeVarUint8Array(encoder, stateVector);
  return encoding.toUint8Array(encoder);
}

export function encodeSyncStep2(update: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MESSAGE_SYNC);
  encoding.writeVarUint(encoder, SYNC_STEP2);
  encoding.writeVarUint8Array(encoder, update);
  return encoding.toUint8Array(encoder);
}

export function encodeUpdateMessage(update: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MESSAGE_SYNC);
  encoding.writeVarUint(encoder, SYNC_UPDATE);
  encoding.writeVarUint8Array(encoder, update);
  return encoding.toUint8Array(encoder);
}

export function encodeAwareness(update: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MESSAGE_AWARENESS);
  encoding.writeVarUint8Array(encoder, update);
  return encoding.toUint8Array(encoder);
}

export function encodeNotice(notice: SyncNotice): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MESSAGE_TYPE_NOTICE);
  encoding.writeVarString(encoder, JSON.stringify(notice));
  return encoding.toUint8Array(encoder);
}

/** For clients and tests: reads a notice frame (after its type has been read). */
export function decodeNotice(decoder: decoding.Decoder): SyncNotice {
  return JSON.parse(decoding.readVarString(decoder)) as SyncNotice;
}
