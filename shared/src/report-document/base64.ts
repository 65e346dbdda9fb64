/**
 * Base64 for Yjs updates and state vectors on the wire, the same in the browser and in Node
 * (both have atob/btoa), so what one side encodes the other decodes.
 */

// Globals of browsers and Node ≥ 16; shared compiles without DOM or Node typings.
declare function btoa(data: string): string;
declare function atob(data: string): string;

type NodeBuffer = { from(bytes: Uint8Array): { toString(encoding: 'base64'): string } };

/** Standard base64 with padding. */
export function toBase64(bytes: Uint8Array): string {
  // Node's Buffer where there is one: its encoder is many times faster than Node's legacy btoa.
  const nodeBuffer = (globalThis as { Buffer?: NodeBuffer }).Buffer;
  if (nodeBuffer) return nodeBuffer.from(bytes).toString('base64');
  let binary = '';
  // String.fromCharCode takes arguments: chunks keep large updates under the engines' limits.
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** Throws on text that is not base64. */
export function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}
