// Prints the height in CSS pixels of each HTML file given, laid out in
// headless Chromium at 1280 px wide, as JSON: {"FILE": HEIGHT, ...}.
// Driven by tests/browser.rs (issue 11: many outages must not bury the page).
//
//   node tests/browser/height.mjs a/index.html b/index.html

import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const files = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.OUTPOST_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  chromiumSandbox: false,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
});
const out = {};
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  // A page file must not reach anywhere else.
  await page.route('**/*', (route) =>
    route.request().url().startsWith('file:') ? route.continue() : route.abort(),
  );
  for (const f of files) {
    await page.goto(pathToFileURL(path.resolve(f)).href, { waitUntil: 'load' });
    out[f] = await page.evaluate(() => document.documentElement.scrollHeight);
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
