// Load a page (twice) through a proxy in Debian's headless Chromium, driven
// by Playwright, as internal/clienttest asks. Usage:
//
//   node chromium.mjs PROXY USER PASSWORD URL SPKI SCREENSHOT PROFILE
//
// The proxy and its credentials are given to Playwright, which starts
// Chromium with --proxy-server and answers the browser's request for proxy
// credentials when a 407 arrives: Chromium itself reads the challenge and
// builds Proxy-Authorization. SPKI is the base64 SHA-256 of the origin's
// public key: Chromium trusts exactly that key (or "-" for none). PROFILE
// is a fresh user data directory, which --ignore-certificate-errors-spki-list
// requires. Prints one JSON line: the final status and body, or the error.

import { chromium } from 'playwright-core';

const [proxy, user, password, url, spki, screenshot, profile] = process.argv.slice(2);

const args = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
if (spki !== '-') {
  args.push(`--ignore-certificate-errors-spki-list=${spki}`);
}

let context;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args,
    // Chromium sends loopback requests direct unless <-loopback> is in the
    // bypass list (it removes loopback from the implicit bypass rules).
    proxy: { server: proxy, username: user, password, bypass: '<-loopback>' },
    viewport: { width: 1000, height: 700 },
    timeout: 60000,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  // The page is loaded twice, to show what the browser does once it has
  // answered a challenge; the second load is the one reported.
  let res;
  for (const target of [url, url + '?again']) {
    res = await page.goto(target, { timeout: 30000, waitUntil: 'load' });
  }
  const body = await res.text();
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(JSON.stringify({ status: res.status(), body }));
} catch (err) {
  // Playwright appends a call log with terminal colours; the first line
  // is the error.
  console.log(JSON.stringify({ error: `${err.name}: ${err.message.split('\n')[0]}` }));
} finally {
  await context?.close();
}
