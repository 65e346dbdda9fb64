/**
 * Writes the PWA icons (plain PNGs, no dependencies): a light cross-section "scan" ring and a
 * cross on the app's dark background. `maskable` icons keep the symbol inside the central 60 %
 * safe zone; `any` icons use a rounded square. Run: node scripts/make-icons.mjs
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { deflateSync } from 'node:zlib';

const OUT = path.join(import.meta.dirname, '..', 'public', 'icons');
const BG = [15, 20, 25];
const FG = [124, 196, 255];
const ACCENT = [232, 240, 246];

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}
function png(size, pixel) {
  const raw = Buffer.alloc((size * 4 + 1) * size);
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0;
    for (let x = 0; x < size; x++) {
      const [r, g, b, a] = pixel(x + 0.5, y + 0.5);
      const o = y * (size * 4 + 1) + 1 + x * 4;
      raw[o] = r;
      raw[o + 1] = g;
      raw[o + 2] = b;
      raw[o + 3] = a;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8;
  ihdr[9] = 6;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** The symbol in unit coordinates (-1..1): a ring and a cross. */
function symbol(u, v) {
  const r = Math.hypot(u, v);
  if (r > 0.78 && r < 0.98) return FG;
  if ((Math.abs(u) < 0.13 && Math.abs(v) < 0.55) || (Math.abs(v) < 0.13 && Math.abs(u) < 0.55)) return ACCENT;
  return null;
}

function icon(size, maskable) {
  const scale = maskable ? 0.6 : 0.78; // maskable: symbol within the safe zone (radius 40 %)
  const radius = size * 0.18;
  return png(size, (x, y) => {
    if (!maskable) {
      // rounded square, transparent corners
      const dx = Math.max(radius - x, 0, x - (size - radius));
      const dy = Math.max(radius - y, 0, y - (size - radius));
      if (Math.hypot(dx, dy) > radius) return [0, 0, 0, 0];
    }
    const u = (x - size / 2) / ((size / 2) * scale);
    const v = (y - size / 2) / ((size / 2) * scale);
    const c = symbol(u, v) ?? BG;
    return [c[0], c[1], c[2], 255];
  });
}

mkdirSync(OUT, { recursive: true });
for (const size of [192, 512]) {
  writeFileSync(path.join(OUT, `icon-${size}.png`), icon(size, false));
  writeFileSync(path.join(OUT, `maskable-${size}.png`), icon(size, true));
}
writeFileSync(path.join(OUT, 'apple-touch-icon.png'), icon(180, true));
console.log(`icons written to ${OUT}`);
