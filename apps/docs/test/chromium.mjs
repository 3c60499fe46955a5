// Where the site's browser tests and scripts/bench-browser.mjs find Chromium, and the flags they
// run it with: no sandbox (CI runs as root), no GPU process (WebGL on SwiftShader), and nothing
// that reaches for the network (the machine has none).
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];
