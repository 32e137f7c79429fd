// Checks a rendered Outpost site in headless Chromium (SPEC §7). Driven by
// tests/browser.rs; also usable by hand:
//
//   node tests/browser/check.mjs public/ [--screenshots DIR] [--name NAME]
//
// The site is served by a tiny static server on 127.0.0.1 under a sub-path
// (/site/), as GitHub Pages serves a project site, so a link or asset written
// with an absolute path fails. What the page should show is read from the
// site's own api/v2/components.json, so any site can be checked.
//
// Exit 0 when every check holds; 1 with a list of failures otherwise.
// Environment: OUTPOST_CHROMIUM (default /usr/bin/chromium).

import { createServer } from 'node:http';
import { readFile, stat, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const AXE = require.resolve('axe-core/axe.min.js');

const PREFIX = '/site/';
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 375, height: 812 };
const BANNERS = [
  'All systems operational',
  'Degraded performance',
  'Partial outage',
  'Major outage',
  'Under maintenance',
];
// Statuspage component status -> the word a row must show.
const WORDS = {
  operational: 'Operational',
  degraded_performance: 'Degraded',
  major_outage: 'Down',
  under_maintenance: 'Maintenance',
};
const MONTH = '(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*';
const DATE = new RegExp(
  // The index's bars leave out the current year ("25 Nov").
  `\\d{4}-\\d{2}-\\d{2}|\\b\\d{1,2} ${MONTH}\\b|\\b${MONTH} \\d{1,2},? \\d{4}`,
);

function parseArgs(argv) {
  const args = { dir: null, screenshots: null, name: 'site' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--screenshots') args.screenshots = argv[++i];
    else if (a === '--name') args.name = argv[++i];
    else if (!args.dir) args.dir = a;
    else throw new Error(`unexpected argument ${a}`);
  }
  if (!args.dir) {
    throw new Error('usage: check.mjs SITE_DIR [--screenshots DIR] [--name NAME]');
  }
  args.dir = path.resolve(args.dir);
  return args;
}

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.atom': 'application/atom+xml',
  '.rss': 'application/rss+xml',
  '.xml': 'application/xml',
  '.prom': 'text/plain; version=0.0.4',
  '.ico': 'image/x-icon',
};

// Serve `dir` under PREFIX on 127.0.0.1; resolves to the base URL.
function serve(dir) {
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://localhost');
    let rel = decodeURIComponent(url.pathname);
    if (!rel.startsWith(PREFIX)) {
      res.writeHead(404).end('outside the site');
      return;
    }
    rel = rel.slice(PREFIX.length) || 'index.html';
    const file = path.resolve(dir, rel);
    if (!file.startsWith(dir + path.sep)) {
      res.writeHead(403).end();
      return;
    }
    try {
      const s = await stat(file);
      const target = s.isDirectory() ? path.join(file, 'index.html') : file;
      const body = await readFile(target);
      const type = TYPES[path.extname(target)] ?? 'application/octet-stream';
      res.writeHead(200, { 'content-type': type }).end(body);
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      resolve({ server, base: `http://127.0.0.1:${port}${PREFIX}` });
    });
  });
}

const failures = [];
function fail(where, what) {
  failures.push(`${where}: ${what}`);
}
function note(line) {
  console.log(line);
}

// A page that records console errors, failed requests and requests to any
// other origin (those are blocked).
async function watchedPage(context, origin) {
  const page = await context.newPage();
  const problems = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('requestfailed', (req) => {
    problems.push(`request failed: ${req.url()} (${req.failure()?.errorText})`);
  });
  page.on('response', (res) => {
    if (res.status() >= 400) problems.push(`HTTP ${res.status()} for ${res.url()}`);
  });
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (new URL(url).origin !== origin) {
      problems.push(`request to another host: ${url}`);
      return route.abort('blockedbyclient');
    }
    return route.continue();
  });
  return { page, problems };
}

async function open(context, origin, url) {
  const w = await watchedPage(context, origin);
  await w.page.goto(url, { waitUntil: 'load' });
  // The page needs no JavaScript; its one script is inline, Outpost's own
  // (Esc dismisses a tooltip), and loads nothing.
  const live = await w.page.evaluate(() => ({
    scripts: [...document.scripts].filter((s) => s.src || !s.textContent.includes('Escape')).length,
    inline: document.scripts.length,
    handlers: [...document.querySelectorAll('*')].flatMap((e) =>
      [...e.attributes].filter((a) => a.name.startsWith('on')).map((a) => `${e.tagName.toLowerCase()}[${a.name}]`),
    ),
  }));
  if (live.scripts) w.problems.push(`${live.scripts} <script> element(s) besides Outpost's own`);
  if (live.inline > 1) w.problems.push(`${live.inline} <script> elements`);
  for (const h of live.handlers) w.problems.push(`event handler attribute ${h}`);
  return w;
}

const checkedLinks = new Map();

// Every link of the open page that stays on the site leads to a file that
// exists (fragments aside); links to other hosts are not followed.
async function links(where, page, origin) {
  const hrefs = await page.evaluate(() => [...document.querySelectorAll('a[href], link[href]')].map((a) => a.href));
  for (const href of hrefs) {
    const url = new URL(href);
    url.hash = '';
    if (url.origin !== origin) continue;
    const key = url.toString();
    if (!checkedLinks.has(key)) {
      const res = await fetch(key);
      checkedLinks.set(key, res.status);
    }
    if (checkedLinks.get(key) !== 200) fail(where, `broken link ${href} (HTTP ${checkedLinks.get(key)})`);
  }
}

// Report what a page did wrong while loading, then close it.
async function done(where, w) {
  // Late events (a failed image after load) still count.
  await w.page.waitForTimeout(50);
  for (const p of w.problems) fail(where, p);
  await w.page.close();
}

// axe-core on the open page; fails on serious or critical violations.
async function axe(where, page) {
  await page.addScriptTag({ path: AXE });
  const result = await page.evaluate(async () => {
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => ({
        target: n.target.join(' '),
        summary: n.failureSummary,
      })),
      count: v.nodes.length,
    }));
  });
  for (const v of result) {
    const line = `axe ${v.impact} ${v.id} (${v.help}) on ${v.count} element(s)`;
    const detail = v.nodes.map((n) => `\n      ${n.target}\n        ${n.summary?.replaceAll('\n', '\n        ')}`).join('');
    if (v.impact === 'serious' || v.impact === 'critical') fail(where, line + detail);
    else note(`  note: ${where}: ${line}`);
  }
}

async function noHorizontalScroll(where, page) {
  const m = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth,
  }));
  if (m.scroll > m.client) {
    const wide = await page.evaluate(() => {
      const w = document.documentElement.clientWidth;
      return [...document.querySelectorAll('body *')]
        .filter((e) => e.getBoundingClientRect().right > w + 0.5)
        .slice(0, 5)
        .map((e) => `${e.tagName.toLowerCase()}${e.className ? '.' + String(e.className).split(' ').join('.') : ''} (right edge ${Math.round(e.getBoundingClientRect().right)}px)`);
    });
    fail(where, `horizontal scroll: scrollWidth ${m.scroll} > clientWidth ${m.client}; wide: ${wide.join(', ') || '(a pseudo-element)'}`);
  }
}

// The probe rows of the index: for each probe link in main, its list item.
async function rows(page) {
  return page.evaluate(() => {
    const out = [];
    for (const a of document.querySelectorAll('main a[href^="probe/"]')) {
      const li = a.closest('li');
      if (!li || out.some((r) => r.href === a.getAttribute('href'))) continue;
      const bars = [...li.querySelectorAll('ol > li')];
      out.push({
        name: a.innerText.trim(),
        href: a.getAttribute('href'),
        text: li.innerText,
        bars: bars.length,
        unfocusable: bars.filter((b) => b.tabIndex < 0).length,
      });
    }
    return out;
  });
}

async function checkIndex(context, origin, base, components, summary) {
  const where = 'index.html';
  const w = await open(context, origin, base + 'index.html');
  const { page } = w;
  // (2) the banner (the page's first h2) and every probe row
  const heading = (await page.locator('main h2').first().innerText()).trim();
  const banner = BANNERS.find((b) => heading.toLowerCase() === b.toLowerCase());
  if (!banner) fail(where, `the first heading is not an overall banner (one of ${BANNERS.join(', ')}): ${JSON.stringify(heading)}`);
  else note(`  banner: ${heading} (summary.json: ${summary.status?.description})`);

  const found = await rows(page);
  const probes = components.filter((c) => !c.group);
  for (const c of probes) {
    const row = found.find((r) => r.name === c.name);
    if (!row) {
      fail(where, `no row for probe "${c.name}"`);
      continue;
    }
    // (3) state in words, not only colour
    const word = WORDS[c.status];
    if (word && !new RegExp(`\\b${word}\\b`).test(row.text)) {
      fail(where, `row "${c.name}" (${c.status}) does not say "${word}" in text: ${JSON.stringify(row.text.slice(0, 200))}`);
    }
    if (row.bars === 0) fail(where, `row "${c.name}" has no day bars`);
    if (row.unfocusable > 0) fail(where, `row "${c.name}": ${row.unfocusable} day bar(s) not keyboard-focusable`);
  }
  note(`  ${found.length} probe rows for ${probes.length} components; states: ${probes.map((c) => `${c.name}=${c.status}`).join(', ')}`);

  // (4) Tab reaches a day bar; its accessible name and tooltip carry a date.
  let bar = null;
  for (let i = 0; i < 300 && !bar; i++) {
    await page.keyboard.press('Tab');
    bar = await page.evaluate(() => {
      const e = document.activeElement;
      if (!e || e === document.body) return null;
      const list = e.parentElement;
      if (e.tagName !== 'LI' || !list || list.tagName !== 'OL' || !list.closest('main')) return null;
      const after = getComputedStyle(e, '::after').content;
      return {
        label: e.getAttribute('aria-label'),
        title: e.getAttribute('title'),
        tooltip: after && after !== 'none' && after !== 'normal' ? after : null,
        tabs: 0,
      };
    });
    if (bar) bar.tabs = i + 1;
  }
  if (!bar) {
    fail(where, 'pressing Tab 300 times never focused a day bar');
  } else {
    const snapshot = await page.locator(':focus').ariaSnapshot();
    note(`  Tab x${bar.tabs} focused a day bar: ${snapshot.replaceAll('\n', ' ')}`);
    if (!DATE.test(snapshot)) fail(where, `focused day bar has no date in its accessible name: ${snapshot}`);
    const tip = bar.tooltip ?? bar.title;
    if (!tip || !DATE.test(tip)) fail(where, `focused day bar shows no tooltip with a date (::after content ${bar.tooltip}, title ${bar.title})`);
  }

  await links(where, page, origin);
  await todayMatchesNow(where, page);
  await forcedColours(where, page);
  await hoverableTooltip(where, page);
  await escDismisses(where, page);
  await bidiIsolated(where, page);

  // (6) axe, light then dark
  await axe(`${where} (light)`, page);
  await page.emulateMedia({ colorScheme: 'dark' });
  await axe(`${where} (dark)`, page);
  await done(where, w);
  return found;
}

async function checkPage(context, origin, base, rel) {
  const w = await open(context, origin, base + rel);
  const title = await w.page.title();
  if (!title.trim()) fail(rel, 'empty <title>');
  await links(rel, w.page, origin);
  if (rel.startsWith('probe/')) {
    await axisLabels(rel, w.page);
    await forcedColours(rel, w.page);
    await bidiIsolated(rel, w.page);
  }
  await axe(`${rel} (light)`, w.page);
  await w.page.emulateMedia({ colorScheme: 'dark' });
  await axe(`${rel} (dark)`, w.page);
  await done(rel, w);
}

// Issue 11 (5): today's bar is at least as bad as the row's state now.
async function todayMatchesNow(where, page) {
  const rows = await page.evaluate(() =>
    [...document.querySelectorAll('main li.probe')].map((li) => {
      const bars = li.querySelectorAll('ol.bars > li');
      return {
        name: li.querySelector('h3')?.innerText.trim(),
        state: li.querySelector('.ph .st')?.innerText.trim(),
        today: bars.length ? bars[bars.length - 1].className : null,
      };
    }),
  );
  const need = { Down: 'down', Degraded: 'warn' };
  for (const r of rows) {
    const want = need[r.state];
    if (want && !(r.today ?? '').split(' ').some((c) => c === want || (want === 'warn' && c === 'down'))) {
      fail(where, `row "${r.name}" is ${r.state} but today's bar is "${r.today}"`);
    }
  }
  note(`  today's bars: ${rows.map((r) => `${r.name}=${r.state}/${r.today}`).join(', ')}`);
}

// Issue 11 (9): with forced colours the day bars and the key stay visible and
// tell the states apart.
async function forcedColours(where, page) {
  await page.emulateMedia({ forcedColors: 'active' });
  const seen = await page.evaluate(() => {
    const out = {};
    for (const c of ['ok', 'warn', 'down', 'maint', 'none']) {
      // An operational bar is the default one, with no state class.
      const which = c === 'ok' ? ':not(.warn,.down,.maint,.unknown,.none)' : `.${c}`;
      const bar = document.querySelector(`main ol.bars > li${which}`);
      if (bar) {
        const st = getComputedStyle(bar);
        out[`bar ${c}`] = { adjust: st.forcedColorAdjust, paint: st.backgroundImage, height: st.backgroundSize };
      }
      const key = document.querySelector(`main .key .k.${c}`);
      if (key) {
        const st = getComputedStyle(key, '::before');
        out[`key ${c}`] = { adjust: st.forcedColorAdjust, paint: st.backgroundColor, height: st.height };
      }
    }
    return out;
  });
  const entries = Object.entries(seen);
  if (!entries.some(([k]) => k.startsWith('bar '))) fail(where, 'no day bars found');
  for (const [k, v] of entries) {
    if (v.adjust !== 'none') fail(where, `forced colours: ${k} is repainted by the system (forced-color-adjust ${v.adjust})`);
    if (!v.paint || v.paint === 'none' || v.paint === 'rgba(0, 0, 0, 0)') fail(where, `forced colours: ${k} draws nothing (${v.paint})`);
  }
  const paints = (kind) => entries.filter(([k]) => k.startsWith(kind)).map(([, v]) => `${v.paint} ${v.height}`);
  for (const kind of ['bar ', 'key ']) {
    const p = paints(kind);
    if (new Set(p).size !== p.length) fail(where, `forced colours: two ${kind.trim()} states look the same: ${p.join(' | ')}`);
  }
  note(`  forced colours: ${entries.length} bar and key states visible and distinct`);
  await page.emulateMedia({ forcedColors: 'none' });
}

// Issue 11 (11): a bar's tooltip stays while the pointer moves onto it.
async function hoverableTooltip(where, page) {
  const bar = page.locator('main ol.bars > li').first();
  const box = await bar.boundingBox();
  if (!box) return fail(where, 'no day bar to hover');
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  // Up across the gap and into the tooltip itself.
  for (const dy of [3, 8, 14]) {
    await page.mouse.move(box.x + Math.min(4, box.width / 2), box.y - dy);
    const shown = await bar.evaluate((e) => e.matches(':hover') && getComputedStyle(e, '::after').content !== 'none');
    if (!shown) fail(where, `the tooltip vanished with the pointer ${dy}px above its bar`);
  }
  await page.mouse.move(0, 0);
}

// Issue 11 (11): Esc dismisses a bar's tooltip, hovered or focused, without
// moving the pointer or focus; it comes back once they leave and return.
async function escDismisses(where, page) {
  const bars = page.locator('main ol.bars > li');
  const bar = bars.first();
  const box = await bar.boundingBox();
  if (!box) return fail(where, 'no day bar for Esc');
  const shown = (l) => l.evaluate((e) => {
    const a = getComputedStyle(e, '::after');
    return a.display !== 'none' && a.content !== 'none' && a.content !== 'normal';
  });
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  if (!(await shown(bar))) fail(where, 'hovering a day bar shows no tooltip');
  await page.keyboard.press('Escape');
  if (await shown(bar)) fail(where, 'Esc left the hovered bar\'s tooltip open');
  await page.mouse.move(0, 0);
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  if (!(await shown(bar))) fail(where, 'the tooltip stayed dismissed after the pointer left and came back');
  await page.mouse.move(0, 0);

  const other = bars.nth(1);
  await other.focus();
  if (!(await shown(other))) fail(where, 'a focused day bar shows no tooltip');
  await page.keyboard.press('Escape');
  if (await shown(other)) fail(where, 'Esc left the focused bar\'s tooltip open');
  await bar.focus();
  await other.focus();
  if (!(await shown(other))) fail(where, 'the tooltip stayed dismissed after focus left and came back');
  await other.blur();
  note('  Esc dismisses a hovered and a focused tooltip; each returns on the next hover or focus');
}

// Without JavaScript the page is whole: its rows, bars and their tooltips.
async function withoutScript(browser, origin, base) {
  const context = await browser.newContext({ viewport: DESKTOP, javaScriptEnabled: false });
  const w = await open(context, origin, base + 'index.html');
  const bar = w.page.locator('main ol.bars > li').first();
  await bar.focus();
  const state = await bar.evaluate((e) => ({
    bars: document.querySelectorAll('main ol.bars > li').length,
    tip: getComputedStyle(e, '::after').content,
  }));
  if (!state.bars) fail('index.html (no JavaScript)', 'no day bars');
  if (!state.tip || state.tip === 'none' || !DATE.test(state.tip)) {
    fail('index.html (no JavaScript)', `a focused bar shows no tooltip: ${state.tip}`);
  }
  note(`  without JavaScript: ${state.bars} day bars, focused tooltip ${state.tip}`);
  await done('index.html (no JavaScript)', w);
  await context.close();
}

// Issue 11 (12): each y-axis label sits on its gridline.
async function axisLabels(where, page) {
  const off = await page.evaluate(() => {
    const out = [];
    for (const plot of document.querySelectorAll('.plot')) {
      const lines = [...plot.querySelectorAll('svg path.grid, svg path.axis')].map((l) => {
        const r = l.getBoundingClientRect();
        return r.top + r.height / 2;
      });
      for (const span of plot.querySelectorAll('.yax span')) {
        const r = span.getBoundingClientRect();
        const mid = r.top + r.height / 2;
        const d = Math.min(...lines.map((y) => Math.abs(y - mid)));
        out.push({ label: span.innerText, d });
      }
    }
    return out;
  });
  if (!off.length) fail(where, 'no y-axis labels');
  for (const o of off) if (o.d > 2) fail(where, `y label ${o.label} is ${o.d.toFixed(1)}px off its gridline`);
  note(`  ${off.length} y labels, worst ${Math.max(0, ...off.map((o) => o.d)).toFixed(1)}px off their lines`);
}

// Issue 11 (10): a name with U+202E does not reorder the words around it.
async function bidiIsolated(where, page) {
  const bad = await page.evaluate(() => {
    const out = [];
    for (const b of document.querySelectorAll('main bdi')) {
      if (!b.textContent.includes('\u202E')) continue;
      const before = b.previousSibling;
      const after = b.nextSibling;
      const r = b.getBoundingClientRect();
      const rect = (n) => {
        if (!n || !n.textContent.trim()) return null;
        const range = document.createRange();
        range.selectNodeContents(n);
        return range.getBoundingClientRect();
      };
      const a = rect(before);
      const z = rect(after);
      if (a && Math.abs(a.top - r.top) < 4 && a.left > r.left) out.push(`"${before.textContent}" drawn after the name`);
      if (z && Math.abs(z.top - r.top) < 4 && z.left < r.left) out.push(`"${after.textContent}" drawn before the name`);
    }
    return out;
  });
  for (const b of bad) fail(where, `bidi: ${b}`);
}

// (5) at 375 px nothing scrolls sideways, also with a tooltip open.
async function checkPhone(browser, origin, base, pages) {
  const context = await browser.newContext({ viewport: PHONE, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  for (const rel of pages) {
    const where = `${rel} at ${PHONE.width}px`;
    const w = await open(context, origin, base + rel);
    await noHorizontalScroll(where, w.page);
    if (rel === 'index.html') {
      const bars = w.page.locator('main ol > li:visible');
      const n = await bars.count();
      for (const i of n ? [0, n - 1] : []) {
        await bars.nth(i).focus();
        await noHorizontalScroll(`${where}, bar ${i + 1} of ${n} focused`, w.page);
      }
      await w.page.evaluate(() => document.activeElement?.blur());
    }
    await done(where, w);
  }
  await context.close();
}

// (7) screenshots: desktop and phone, light and dark.
async function screenshots(browser, origin, base, dir, name, more = []) {
  await mkdir(dir, { recursive: true });
  const shots = [
    ['desktop', { viewport: DESKTOP, deviceScaleFactor: 1 }],
    ['phone', { viewport: PHONE, deviceScaleFactor: 2, isMobile: true, hasTouch: true }],
  ];
  const written = [];
  for (const [kind, options] of shots) {
    for (const scheme of ['light', 'dark']) {
      const context = await browser.newContext({ ...options, colorScheme: scheme });
      const suffix = scheme === 'light' ? '' : '-dark';
      // The other pages: a probe page and history, whole.
      for (const [label, rel] of more) {
        const p = await open(context, origin, base + rel);
        const file = path.join(dir, `${name}-${label}-${kind}${suffix}.png`);
        await p.page.screenshot({ path: file, fullPage: true });
        written.push(file);
        await done(`screenshot ${label} ${kind} ${scheme}`, p);
      }
      const w = await open(context, origin, base + 'index.html');
      const first = path.join(dir, `${name}-${kind}${suffix}.png`);
      const full = path.join(dir, `${name}-${kind}${suffix}-full.png`);
      await w.page.screenshot({ path: first });
      await w.page.screenshot({ path: full, fullPage: true });
      written.push(first, full);
      if (scheme === 'light') {
        // For the README. Desktop: from the top to the end of the probe
        // groups, without the long list of past incidents. Phone: the day
        // bars of the first groups, from the key above them.
        const readme = path.join(dir, `${name}-readme-${kind}.png`);
        const box = await w.page.evaluate((phone) => {
          const groups = [...new Set([...document.querySelectorAll('main ol > li[tabindex]')]
            .map((li) => li.closest('section'))
            .filter(Boolean))];
          const y = (e, edge) => (e ? e.getBoundingClientRect()[edge] + window.scrollY : null);
          if (!groups.length) return { top: 0, bottom: 900 };
          if (!phone) return { top: 0, bottom: y(groups[groups.length - 1], 'bottom') + 16 };
          const key = document.querySelector('main .key') ?? groups[0];
          return { top: Math.max(0, y(key, 'top') - 16), bottom: y(groups[Math.min(1, groups.length - 1)], 'bottom') + 16 };
        }, kind === 'phone');
        const height = Math.min(Math.ceil(box.bottom - box.top), kind === 'phone' ? 1400 : 2600);
        await w.page.screenshot({
          path: readme,
          fullPage: true,
          clip: { x: 0, y: Math.floor(box.top), width: options.viewport.width, height },
        });
        written.push(readme);
      }
      await done(`screenshot ${kind} ${scheme}`, w);
      await context.close();
    }
  }
  note(`  screenshots: ${written.map((f) => path.basename(f)).join(', ')} in ${dir}`);
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  for (const f of ['index.html', 'history.html', 'api/v2/components.json', 'api/v2/summary.json']) {
    if (!existsSync(path.join(args.dir, f))) throw new Error(`${args.dir} has no ${f}`);
  }
  const components = JSON.parse(await readFile(path.join(args.dir, 'api/v2/components.json'), 'utf8')).components;
  const summary = JSON.parse(await readFile(path.join(args.dir, 'api/v2/summary.json'), 'utf8'));
  const { server, base } = await serve(args.dir);
  const origin = new URL(base).origin;
  note(`checking ${args.dir} at ${base}`);

  // Playwright gives the browser a fresh temporary --user-data-dir.
  const browser = await chromium.launch({
    executablePath: process.env.OUTPOST_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    chromiumSandbox: false,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
    ],
  });
  try {
    const desktop = await browser.newContext({ viewport: DESKTOP });
    // (1)-(4) and (6) on the index.
    const found = await checkIndex(desktop, origin, base, components, summary);
    await withoutScript(browser, origin, base);

    // A probe page for each distinct state, the down one first; then history.
    const order = ['major_outage', 'partial_outage', 'degraded_performance', 'operational'];
    const picks = [];
    for (const status of order) {
      const c = components.find((x) => !x.group && x.status === status);
      const row = c && found.find((r) => r.name === c.name);
      if (row && !picks.includes(row.href)) picks.push(row.href);
    }
    if (!picks.length && found.length) picks.push(found[0].href);
    if (!picks.length) fail('index.html', 'no probe page linked');
    for (const rel of [...picks.slice(0, 3), 'history.html']) {
      await checkPage(desktop, origin, base, rel);
    }
    await desktop.close();

    // (5) and (7).
    await checkPhone(browser, origin, base, ['index.html', picks[0] ?? 'index.html', 'history.html']);
    if (args.screenshots) {
      const more = [['history', 'history.html']];
      if (picks[0]) more.unshift(['probe', picks[0]]);
      await screenshots(browser, origin, base, path.resolve(args.screenshots), args.name, more);
    }
  } finally {
    await browser.close();
    server.close();
  }

  if (failures.length) {
    console.log(`\n${failures.length} check(s) failed:`);
    for (const f of failures) console.log(`- ${f}`);
    process.exit(1);
  }
  console.log('all browser checks passed');
}

main().catch((e) => {
  console.error(e?.stack ?? String(e));
  process.exit(2);
});
