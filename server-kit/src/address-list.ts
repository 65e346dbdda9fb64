/**
 * Lists of IP addresses and ranges from settings (trusted proxies, allowed HL7 senders), and the
 * address a connection really comes from. Behind nginx or the gateway every socket comes from the
 * proxy, so a limiter keyed on the socket address lets one client refuse everyone. X-Forwarded-For
 * is believed only from a configured trusted proxy, and only up to the right-most address that is
 * not itself a trusted proxy: everything left of that was written by the client.
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
 * Parses a setting such as `PACS_SYNC_TRUSTED_PROXIES`: comma-separated addresses, CIDR ranges or
 * the names `loopback`, `linklocal`, `uniquelocal`. Throws with the offending entry on anything else.
 */
export function parseAddressList(list: string): BlockList {
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

/** The address (after normaliseAddress) is in the list; anything that is not an IP address is not. */
export function isListed(list: BlockList, address: string): boolean {
  const normalised = normaliseAddress(address);
  const family = isIP(normalised);
  if (family === 0) return false;
  return list.check(normalised, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * The client address of a request: the socket address unless that is a trusted proxy; then the
 * right-most X-Forwarded-For entry that is not a trusted proxy. An entry that is not an IP address
 * (garbage written by a client) ends the walk: the last trusted hop vouches only for what it saw.
 */
export function clientAddress(socketAddress: string | undefined, forwardedFor: string | string[] | undefined, trusted: BlockList): string {
  let client = normaliseAddress(socketAddress ?? '') || 'unknown';
  if (!isListed(trusted, client) || forwardedFor === undefined) return client;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor)
    .split(',')
    .map(normaliseAddress)
    .filter((hop) => hop !== '');
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!;
    if (isIP(hop) === 0) return client;
    client = hop;
    if (!isListed(trusted, hop)) return hop;
  }
  return client;
}

/** The list as a predicate, for frameworks that ask about each hop (Fastify's `trustProxy`). */
export function addressPredicate(list: string): (address: string) => boolean {
  const blocks = parseAddressList(list);
  return (address) => isListed(blocks, address);
}
