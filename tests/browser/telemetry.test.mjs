// Browser tests of the flag page's telemetry charts, with real data: the
// real server binary and the real Rust SDK (examples/telemetry-demo, built
// with the workspace's bins: telemetry on, it evaluates a flag, records
// request outcomes and flushes), then Chromium reads what uPlot draws.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM, LAUNCH_ARGS, apiClient, openPage, startServer, uiLogin } from './support.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const DEMO = path.resolve(here, process.env.TELEMETRY_DEMO_BIN || '../../target/debug/telemetry-demo');
const ADMIN_PASSWORD = 'admin-password-for-tests';
const PASSWORD = 'a-long-test-password';
const REQUESTS = 200;
const FAIL_EVERY = 10;

let server;
let browser;
let api;
let sdkKey;

/** Runs one round of the real SDK against the server; resolves its counts. */
function sdkRound() {
  return new Promise((resolve, reject) => {
    if (!fs.existsSync(DEMO)) {
      reject(new Error(`${DEMO} not found: run \`cargo build --workspace --bins\` first or set TELEMETRY_DEMO_BIN`));
      return;
    }
    const child = spawn(DEMO, [], {
      env: { ...process.env, SWITCHYARD_URL: server.url, SWITCHYARD_SDK_KEY: sdkKey, FLAG: 'checkout-flow', ROUNDS: '1', REQUESTS: String(REQUESTS), FAIL_EVERY: String(FAIL_EVERY), RUST_LOG: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const m = /round 1: (\d+) requests, (\d+) true, (\d+) errors, flushed/.exec(out);
      if (code !== 0 || !m) reject(new Error(`telemetry-demo exited ${code}:\n${out}`));
      else resolve({ requests: Number(m[1]), on: Number(m[2]), errors: Number(m[3]) });
    });
  });
}

/** Sums a uPlot series (nulls are gaps). */
const sum = (xs) => xs.reduce((a, x) => a + (x ?? 0), 0);

/** Every chart on the page: { name: { labels, data } }, read from uPlot itself. */
const readCharts = (page) => page.evaluate(() => Object.fromEntries(Object.entries(window.switchyard.charts || {})
  .map(([name, u]) => [name, { labels: u.series.map((s) => s.label), data: u.data.map((d) => Array.from(d)), width: u.width, canvas: !!u.root.querySelector('canvas') }])));

before(async () => {
  server = await startServer({ SWITCHYARD_ADMIN_PASSWORD: ADMIN_PASSWORD });
  api = apiClient(server.url);
  api.token = await api.login('admin', ADMIN_PASSWORD);
  await api.call('POST', '/api/v1/projects', { key: 'shop', name: 'Shop' });
  await api.call('POST', '/api/v1/projects/shop/environments', { key: 'production' });
  await api.call('POST', '/api/v1/users', { username: 'vera', password: PASSWORD, role: 'viewer' });
  await api.call('POST', '/api/v1/projects/shop/flags', { key: 'checkout-flow', name: 'Checkout flow', kind: 'boolean' });
  await api.call('POST', '/api/v1/projects/shop/flags', { key: 'quiet-flag', kind: 'boolean' });
  const cfgPath = '/api/v1/projects/shop/environments/production/flags/checkout-flow';
  const current = await api.call('GET', cfgPath);
  await api.call('PUT', cfgPath, { ...current.config, version: current.version, on: true, reason: 'half of the users',
    fallthrough: { rollout: { variations: [{ variant: 'on', weight: 50000 }, { variant: 'off', weight: 50000 }] } } });
  sdkKey = (await api.call('POST', '/api/v1/projects/shop/environments/production/sdk-keys', { name: 'telemetry-demo' })).secret;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('uPlot is served from the binary: the pinned, verified file, under the UI CSP', async () => {
  const script = fs.readFileSync(path.resolve(here, '../../tools/vendor-uplot.sh'), 'utf8');
  for (const [file, served] of [['dist/uPlot.iife.min.js', 'uPlot.iife.min.js'], ['dist/uPlot.min.css', 'uPlot.min.css']]) {
    const pinned = new RegExp(`\\[${file.replace(/\./g, '\\.')}\\]=([0-9a-f]{64})`).exec(script)?.[1];
    assert.ok(pinned, `no pinned sha256 for ${file}`);
    const res = await fetch(`${server.url}/assets/vendor/${served}`);
    assert.equal(res.status, 200, served);
    assert.match(res.headers.get('content-security-policy'), /script-src 'self'/);
    const got = crypto.createHash('sha256').update(Buffer.from(await res.arrayBuffer())).digest('hex');
    assert.equal(got, pinned, `${served} differs from the hash pinned in tools/vendor-uplot.sh`);
  }
});

test('a flag without telemetry shows the empty state', async () => {
  const t = await openPage(browser);
  await uiLogin(t.page, server.url, 'vera', PASSWORD);
  await t.page.goto(`${server.url}/#/projects/shop/flags/quiet-flag?env=production`);
  await t.page.waitForSelector('#telemetry-card[data-state="empty"] #telemetry-empty');
  assert.match(await t.page.textContent('#telemetry-empty'), /No telemetry for this flag in production/);
  assert.equal(await t.page.locator('#telemetry-card canvas').count(), 0);
  await t.check();
  await t.close();
});

test('the charts draw what the real SDK reported, per variant, and follow new batches live', async () => {
  const first = await sdkRound();
  assert.equal(first.requests, REQUESTS);
  assert.ok(first.on > 0 && first.on < REQUESTS, `a 50/50 rollout served ${first.on} of ${REQUESTS} true`);
  const off = REQUESTS - first.on;

  const t = await openPage(browser);
  const { page } = t;
  await uiLogin(page, server.url, 'vera', PASSWORD);
  await page.goto(`${server.url}/#/projects/shop/flags/checkout-flow?env=production`);
  await page.waitForSelector('#telemetry-card[data-state="charts"]');
  let charts = await readCharts(page);
  assert.deepEqual(Object.keys(charts).sort(), ['errors', 'evaluations', 'latency']);
  for (const [name, c] of Object.entries(charts)) {
    assert.deepEqual(c.labels, ['time', 'off', 'on'], name);
    assert.ok(c.canvas && c.width >= 240, `${name} is drawn`);
    assert.ok(c.data[0].length >= 60, `${name}: a point per minute of the hour`);
  }
  const [, offEvals, onEvals] = charts.evaluations.data;
  assert.equal(sum(onEvals), first.on, 'evaluations of "on"');
  assert.equal(sum(offEvals), off, 'evaluations of "off"');
  // Error rate (%): "off" never fails; "on" fails every FAIL_EVERY-th time.
  const [, offErr, onErr] = charts.errors.data;
  assert.ok(offErr.every((x) => x === null || x === 0), `off error rate ${offErr}`);
  assert.ok(onErr.some((x) => x > 0), `on error rate ${onErr}`);
  // p95: the bucket bound of 30 ms is 50 ms; of 8 ms, 10 ms.
  const [, offP95, onP95] = charts.latency.data;
  assert.deepEqual([...new Set(onP95.filter((x) => x !== null))], [50]);
  assert.deepEqual([...new Set(offP95.filter((x) => x !== null))], [10]);
  const cell = (variant, field) => page.textContent(`#telemetry-totals tr[data-variant="${variant}"] [data-field="${field}"]`);
  assert.equal(await cell('on', 'errors'), String(first.errors));
  assert.equal(await cell('on', 'error_rate'), `${((first.errors / first.on) * 100).toFixed(2)} %`);
  assert.equal(await cell('off', 'error_rate'), '0.00 %');

  // A second round while the page is open: the charts follow (polling).
  const second = await sdkRound();
  await page.waitForFunction((want) => {
    const u = window.switchyard.charts?.evaluations;
    return u && u.data.slice(1).flatMap((s) => Array.from(s)).reduce((a, x) => a + (x ?? 0), 0) === want;
  }, 2 * REQUESTS, { timeout: 30000 });
  charts = await readCharts(page);
  assert.equal(sum(charts.evaluations.data[2]), first.on + second.on);
  if (process.env.SCREENSHOTS === '1') {
    await page.locator('#telemetry-card').scrollIntoViewIfNeeded();
    await page.locator('#telemetry-card').screenshot({ path: path.resolve(here, '../../docs/screenshots/flag-telemetry.png') });
  }
  assert.equal(await cell('on', 'errors'), String(first.errors + second.errors));
  await t.check();
  await t.close();
});
