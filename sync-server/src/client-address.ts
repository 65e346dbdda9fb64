/**
 * The address a connection really comes from (LIMIT-5). Behind nginx or the gateway every socket
 * comes from the proxy, so a limiter keyed on the socket address lets one client refuse everyone.
 * X-Forwarded-For is believed only from a configured trusted proxy, and only up to the right-most
 * address that is not itself a trusted proxy: everything left of that was written by the client.
 */
import { BlockList, isIP } from 'node:net';

/** `::ffff:127.0.0.1` (an IPv4 peer on a dual-stack socket) → `127.0.0.1`. */
export function normaliseAddress(address: string): string {
  const trimmed = address.trim();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(trimmed);
  return mapped ? mapped[1]! : trimmed;
}

/** The names the API's PACS_TRUSTED_PROXIES also accepts (proxy-addr's), so one value fits both. */
const NAMED_RANGES: Readonly<Record<string, readonly string[]>> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
};

/**
 * Parses `PACS_SYNC_TRUSTED_PROXIES`: comma-separated addresses, CIDR ranges or the names
 * `loopback`, `linklocal`, `uniquelocal`. Throws with the offending entry on anything else.
 */
export function parseTrustedProxies(list: string): BlockList {
  const blocks = new BlockList();
  const entries = list.split(',').flatMap((raw) => NAMED_RANGES[raw.trim().toLowerCase()] ?? [raw]);
  for (const raw of entries) {
    const entry = raw.trim();
    if (entry === '') continue;
    const [address, prefix, extra] = entry.split('/');
    const family = isIP(address ?? '');
    if (family === 0 || extra !== undefined) throw new Error(`'${entry}' is not an IP address or CIDR range`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (prefix === undefined) {
      blocks.addAddress(address!, type);
      continue;
    }
    const bits = Number(prefix);
    if (!/^\d{1,3}$/.test(prefix) || bits > (family === 4 ? 32 : 128)) throw new Error(`'${entry}' has an invalid prefix length`);
    blocks.addSubnet(address!, bits, type);
  }
  return blocks;
}

function isTrusted(trusted: BlockList, address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  return trusted.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * The client address of a request: the socket address unless that is a trusted proxy; then the
 * right-most X-Forwarded-For entry that is not a trusted proxy. An entry that is not an IP address
 * (garbage written by a client) ends the walk: the last trusted hop vouches only for what it saw.
 */
export function clientAddress(socketAddress: string | undefined, forwardedFor: string | string[] | undefined, trusted: BlockList): string {
  let client = normaliseAddress(socketAddress ?? '') || 'unknown';
  if (!isTrusted(trusted, client) || forwardedFor === undefined) return client;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor)
    .split(',')
    .map(normaliseAddress)
    .filter((hop) => hop !== '');
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!;
    if (isIP(hop) === 0) return client;
    client = hop;
    if (!isTrusted(trusted, hop)) return hop;
  }
  return client;
}
