/** Debian's Chromium, launched by path (ARCHITECTURE.md, decisions). Never a downloaded browser. */
export const CHROMIUM_PATH = process.env.PACS_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
