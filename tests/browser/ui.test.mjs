// Browser tests of the Switchyard web UI.
//
// Runs the real server binary (SWITCHYARD_BIN, default
// ../../target/debug/switchyard relative to this directory) on a free
// port with a fresh SQLite database, and drives Debian's Chromium through
// playwright-core. Nothing is built here. Every test fails on a console
// error, an uncaught page error or a request to a non-local host.
//
//   SCREENSHOTS=1  also writes docs/screenshots/*.png (1280 px and 390 px).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const BIN = path.resolve(here, process.env.SWITCHYARD_BIN || '../../target/debug/switchyard');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const SHOTS = process.env.SCREENSHOTS === '1';
const SHOT_DIR = path.resolve(here, '../../docs/screenshots');
const ADMIN_PASSWORD = 'admin-password-for-tests';
const PASSWORD = 'a-long-test-password';
const BIG = Number(process.env.BIG_FLAGS || 2000);

let server;
let base;
let browser;
let adminToken;
let dataDir;

// ---------------------------------------------------------------- server --
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startServer() {
  if (!fs.existsSync(BIN)) throw new Error(`server binary not found at ${BIN}: run \`cargo build -p switchyard-server\` first or set SWITCHYARD_BIN`);
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-ui-'));
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const log = [];
    const child = spawn(BIN, [], {
      env: {
        ...process.env,
        SWITCHYARD_LISTEN: `127.0.0.1:${port}`,
        SWITCHYARD_DATA_DIR: path.join(dataDir, `db-${attempt}`),
        SWITCHYARD_ADMIN_PASSWORD: ADMIN_PASSWORD,
        // The webhook test's receiver listens on loopback.
        SWITCHYARD_WEBHOOK_ALLOW_PRIVATE: 'true',
        // Every test logs in from 127.0.0.1: more than the default 10 per minute.
        SWITCHYARD_LOGIN_RATE: '600',
        SWITCHYARD_LOG_FORMAT: 'json',
        RUST_LOG: process.env.RUST_LOG || 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (d) => log.push(String(d)));
    child.stderr.on('data', (d) => log.push(String(d)));
    let exited = false;
    child.on('exit', () => {
      exited = true;
    });
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 30000;
    while (Date.now() < deadline && !exited) {
      try {
        const res = await fetch(`${url}/healthz`);
        if (res.ok) return { child, url, log };
      } catch {
        // not up yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill('SIGKILL');
    if (!exited && Date.now() >= deadline) throw new Error(`server did not become healthy:\n${log.join('')}`);
    // Exited early: most likely the port was taken meanwhile; try another.
    if (attempt === 4) throw new Error(`server failed to start:\n${log.join('')}`);
  }
  throw new Error('unreachable');
}

async function call(method, p, body, token = adminToken) {
  const res = await fetch(base + p, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) throw new Error(`${method} ${p} → ${res.status}: ${text}`);
  return data;
}

async function login(username, password) {
  return (await call('POST', '/api/v1/auth/login', { username, password }, null)).token;
}

/**
 * A fake SDK instance: holds the stream open and acknowledges every revision.
 * `identity`: extra headers it connects with (x-switchyard-service, …).
 */
function fakeSdk(secret, instance, identity = {}) {
  const controller = new AbortController();
  const ready = (async () => {
    const res = await fetch(`${base}/sdk/v1/stream`, {
      headers: { authorization: `Bearer ${secret}`, 'x-switchyard-instance': instance, ...identity },
      signal: controller.signal,
    });
    assert.equal(res.status, 200);
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buf = '';
    let resolveFirst;
    const first = new Promise((r) => {
      resolveFirst = r;
    });
    (async () => {
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += decoder.decode(value, { stream: true });
          let i;
          while ((i = buf.indexOf('\n\n')) !== -1) {
            const frame = buf.slice(0, i);
            buf = buf.slice(i + 2);
            const id = /^id: ?(\d+)$/m.exec(frame)?.[1];
            if (id) {
              await fetch(`${base}/sdk/v1/ack`, {
                method: 'POST',
                headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
                body: JSON.stringify({ instance, revision: Number(id) }),
              });
              resolveFirst();
            }
          }
        }
      } catch {
        // aborted
      }
    })();
    await first;
  })();
  return { ready, stop: () => controller.abort() };
}

// --------------------------------------------------------------- browser --
const LAUNCH_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

/**
 * A new browser context and page with guards: console errors, page errors
 * and non-local requests are collected; check() asserts there were none.
 * `allow`: regexes of console errors that the test provokes on purpose
 * (e.g. the browser's own "Failed to load resource … 422" line).
 */
async function openPage({ width = 1280, height = 900, allow = [] } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, serviceWorkers: 'block' });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && !allow.some((re) => re.test(m.text()))) problems.push(`console error: ${m.text()} at ${m.location().url}:${m.location().lineNumber}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.stack || e.message}`));
  context.on('request', (r) => {
    const u = new URL(r.url());
    if (u.protocol === 'data:' || u.protocol === 'about:' || u.protocol === 'blob:') return;
    if (!['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname)) problems.push(`external request: ${r.url()}`);
  });
  page.setDefaultTimeout(15000);
  return {
    context,
    page,
    problems,
    allow,
    check() {
      assert.deepEqual(problems, [], problems.join('\n'));
    },
    async close() {
      await context.close();
    },
  };
}

async function uiLogin(page, username, password) {
  await page.goto(`${base}/#/login`);
  await page.fill('#login-username', username);
  await page.fill('#login-password', password);
  await page.click('.login-form button[type=submit]');
  await page.waitForSelector('#logout');
}

async function shot(page, name) {
  if (!SHOTS) return;
  fs.mkdirSync(SHOT_DIR, { recursive: true });
  await page.screenshot({ path: path.join(SHOT_DIR, `${name}.png`), fullPage: false });
}

const flagUrl = (project, flag, env = 'production') => `${base}/#/projects/${project}/flags/${flag}?env=${env}`;
const config = (project, env, flag) => call('GET', `/api/v1/projects/${project}/environments/${env}/flags/${flag}`);

// ----------------------------------------------------------------- setup --
before(async () => {
  const started = await startServer();
  server = started.child;
  base = started.url;
  adminToken = await login('admin', ADMIN_PASSWORD);
  await call('POST', '/api/v1/projects', { key: 'shop', name: 'Shop' });
  for (const env of ['development', 'staging', 'production']) await call('POST', '/api/v1/projects/shop/environments', { key: env });
  await call('POST', '/api/v1/users', { username: 'bob', password: PASSWORD, role: 'editor' });
  await call('POST', '/api/v1/users', { username: 'vera', password: PASSWORD, role: 'viewer' });
  await call('POST', '/api/v1/users', { username: 'rita', password: PASSWORD, role: 'responder' });
  await call('POST', '/api/v1/projects/shop/flags', { key: 'search-ranking', name: 'Search ranking v2', kind: 'boolean', tags: ['search'], owner: 'discovery' });
  await call('POST', '/api/v1/projects/shop/flags', { key: 'banner-color', name: 'Banner colour', kind: 'string', variants: [{ key: 'blue', value: 'blue' }, { key: 'green', value: 'green' }], tags: ['marketing'], owner: 'growth' });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
});

after(async () => {
  await browser?.close();
  if (server) {
    server.kill('SIGTERM');
    await new Promise((r) => {
      const t = setTimeout(() => {
        server.kill('SIGKILL');
        r();
      }, 5000);
      server.on('exit', () => {
        clearTimeout(t);
        r();
      });
    });
  }
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

// ----------------------------------------------------------------- tests --
test('the UI is served with its security headers; unknown assets are 404', async () => {
  const res = await fetch(`${base}/`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/html/);
  const csp = res.headers.get('content-security-policy');
  for (const part of ["default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"]) {
    assert.ok(csp.includes(part), `CSP lacks ${part}: ${csp}`);
  }
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
  assert.equal(res.headers.get('cache-control'), 'no-cache');
  const html = await res.text();
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
  assert.doesNotMatch(html, /\sstyle=/, 'no inline style');
  const js = await fetch(`${base}/assets/app.js`);
  assert.equal(js.status, 200);
  assert.match(js.headers.get('content-type'), /^text\/javascript/);
  assert.equal(js.headers.get('x-content-type-options'), 'nosniff');
  if (!process.env.SWITCHYARD_UI_DIR) {
    // (With SWITCHYARD_UI_DIR, a debug server reads the files from disk, uncached.)
    assert.match(js.headers.get('cache-control'), /max-age=\d+/);
    const etag = js.headers.get('etag');
    assert.ok(etag);
    assert.equal((await fetch(`${base}/assets/app.js`, { headers: { 'if-none-match': etag } })).status, 304);
    assert.match(html, /app\.js\?v=[0-9a-f]{12}/, 'versioned entry point');
  }
  assert.match((await fetch(`${base}/assets/app.css`)).headers.get('content-type'), /^text\/css/);
  assert.equal((await fetch(`${base}/assets/nope.js`)).status, 404);
  assert.equal((await fetch(`${base}/assets/../Cargo.toml`)).status, 404);
});

test('the API docs render under their own CSP with no violation; the favicon is served', async () => {
  const res = await fetch(`${base}/api/docs`);
  assert.equal(res.status, 200);
  const csp = res.headers.get('content-security-policy');
  for (const part of ["default-src 'self'", "style-src 'self'", "script-src 'self'"]) assert.ok(csp.includes(part), `CSP lacks ${part}: ${csp}`);
  const html = await res.text();
  assert.doesNotMatch(html, /<style|\sstyle=/, 'no inline style');
  assert.doesNotMatch(html, /https?:\/\//, 'no third-party asset');
  const doc = await (await fetch(`${base}/api/openapi.json`)).json();
  const operations = Object.values(doc.paths).reduce((n, item) => n + Object.keys(item).length, 0);
  assert.ok(operations > 20, `only ${operations} operations in the document`);

  const p = await openPage();
  await p.page.addInitScript(() => {
    window.__violations = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  await p.page.goto(`${base}/api/docs`);
  await p.page.waitForSelector('#ops .op');
  assert.equal(await p.page.locator('#ops .op').count(), operations, 'one entry per operation');
  assert.ok((await p.page.locator('#ops h2').count()) >= 5, 'grouped by tag');
  await p.page.getByText('/api/v1/projects/{project}/environments/{env}/flags/{flag}/kill').first().waitFor();
  // The stylesheet applied: a blocked <style> leaves the operations unboxed.
  const border = await p.page.locator('#ops .op').first().evaluate((el) => getComputedStyle(el).borderTopStyle);
  assert.equal(border, 'solid', 'the docs stylesheet was not applied');
  assert.deepEqual(await p.page.evaluate(() => window.__violations), [], 'CSP violations');
  await shot(p.page, 'api-docs');
  p.check();
  await p.close();

  for (const icon of ['/favicon.ico']) {
    const r = await fetch(`${base}${icon}`);
    assert.equal(r.status, 200, icon);
    assert.match(r.headers.get('content-type'), /^image\//, icon);
    assert.ok((await r.arrayBuffer()).byteLength > 0, icon);
  }
});

test('log in and log out; the session lives in sessionStorage', async () => {
  const t = await openPage();
  const { page } = t;
  await page.goto(`${base}/`);
  await page.waitForSelector('#login-username');
  await shot(page, 'login');
  await uiLogin(page, 'admin', ADMIN_PASSWORD);
  await page.waitForSelector('#flag-table .fg-body [role="row"]');
  const stored = await page.evaluate(() => JSON.parse(sessionStorage.getItem('switchyard.session')));
  assert.equal(stored.username, 'admin');
  assert.equal(stored.role, 'admin');
  assert.equal(await page.evaluate(() => document.cookie), '');
  await page.click('#logout');
  await page.waitForSelector('#login-username');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('switchyard.session')), null);
  if (SHOTS) {
    const phone = await openPage({ width: 390, height: 844 });
    await phone.page.goto(`${base}/`);
    await phone.page.waitForSelector('#login-username');
    await shot(phone.page, 'login-phone');
    phone.check();
    await phone.close();
  }
  t.check();
  await t.close();
});

test('create a flag, add a rule with a 30% rollout, toggle it in one environment', async () => {
  const t = await openPage();
  const { page } = t;
  await uiLogin(page, 'admin', ADMIN_PASSWORD);
  await page.click('#new-flag');
  const dialog = page.locator('[role="dialog"]');
  await dialog.waitFor();
  assert.equal(await dialog.getAttribute('aria-modal'), 'true');
  await page.fill('#nf-key', 'checkout-v2');
  await page.fill('#nf-name', 'New checkout');
  await page.fill('#nf-tags', 'checkout, payments');
  await page.fill('#nf-owner', 'payments-team');
  await page.click('#nf-submit');
  await page.waitForSelector('#targeting-form');
  assert.match(page.url(), /#\/projects\/shop\/flags\/checkout-v2/);
  await page.waitForSelector('#tab-production[aria-selected="true"]');

  // A rule: country in [de, fr] → 30 % on / 70 % off.
  await page.click('button[data-action="add-rule"]');
  await page.fill('input[data-path="rules[0].clauses[0].attribute"]', 'country');
  await page.selectOption('select[data-path="rules[0].clauses[0].op"]', 'in');
  await page.fill('textarea[data-path="rules[0].clauses[0].values"]', 'de\nfr');
  await page.fill('input[data-path="rules[0].description"]', 'DACH and France');
  await page.check('li.rule[data-rule="0"] input[data-serve-mode="rollout"]');
  const onPct = page.locator('li.rule[data-rule="0"] input.pct-input[data-variant="on"]');
  await onPct.fill('30');
  await onPct.press('Tab');
  assert.equal(await page.inputValue('li.rule[data-rule="0"] input.pct-input[data-variant="off"]'), '70');
  assert.match(await page.textContent('li.rule[data-rule="0"] .rollout-total'), /Total: 100%/);
  // The slider keeps the sum at 100 % too.
  const offRange = page.locator('li.rule[data-rule="0"] input[type="range"][data-variant="off"]');
  await offRange.fill('60000');
  assert.equal(await page.inputValue('li.rule[data-rule="0"] input.pct-input[data-variant="on"]'), '40');
  await onPct.fill('30');
  await onPct.press('Tab');
  await page.fill('#targeting-reason', 'Roll out the new checkout in DACH');
  await page.click('#save-targeting');
  await page.waitForSelector('#save-targeting:disabled');
  await page.waitForSelector('#history-list li[data-version="2"]');
  const saved = await config('shop', 'production', 'checkout-v2');
  assert.equal(saved.version, 2);
  assert.deepEqual(saved.config.rules[0].clauses, [{ attribute: 'country', op: 'in', values: ['de', 'fr'] }]);
  assert.deepEqual(saved.config.rules[0].serve, { rollout: { variations: [{ variant: 'on', weight: 30000 }, { variant: 'off', weight: 70000 }] } });
  if (SHOTS) {
    await page.locator('li.rule[data-rule="0"]').scrollIntoViewIfNeeded();
    await page.evaluate(() => window.scrollBy(0, document.querySelector('li.rule').getBoundingClientRect().top - 90));
  }
  await shot(page, 'flag-targeting');

  // Toggle production only.
  await page.click('#toggle');
  await page.waitForSelector('#toggle[aria-checked="true"]');
  await page.waitForSelector('#tab-production .state-on');
  assert.equal((await config('shop', 'production', 'checkout-v2')).config.on, true);
  assert.equal((await config('shop', 'staging', 'checkout-v2')).config.on, false);
  if (SHOTS) {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, 'flag-phone');
    await page.setViewportSize({ width: 1280, height: 900 });
  }
  t.check();
  await t.close();
});

test('a second browser sees a toggle appear live, without reload', async () => {
  const watcher = await openPage();
  await uiLogin(watcher.page, 'bob', PASSWORD);
  await watcher.page.waitForSelector('#flag-table [data-key="search-ranking"]');
  // Wait until the live streams are connected.
  await watcher.page.waitForSelector('.live-ind.live-on');
  const cell = watcher.page.locator('#flag-table [data-key="search-ranking"] [data-env="staging"]');
  assert.equal(await cell.getAttribute('data-state'), 'off');
  const marker = await watcher.page.evaluate(() => {
    window.__noReload = Math.random();
    return window.__noReload;
  });

  const actor = await openPage();
  await uiLogin(actor.page, 'admin', ADMIN_PASSWORD);
  await actor.page.goto(flagUrl('shop', 'search-ranking', 'staging'));
  await actor.page.waitForSelector('#tab-staging[aria-selected="true"]');
  await actor.page.click('#toggle');
  await actor.page.waitForSelector('#toggle[aria-checked="true"]');

  await watcher.page.waitForSelector('#flag-table [data-key="search-ranking"] [data-env="staging"][data-state="on"]');
  const notice = watcher.page.locator('#notices[role="status"] .notice', { hasText: 'search-ranking' });
  await notice.first().waitFor();
  assert.match(await notice.first().textContent(), /turned on in staging by admin/);
  assert.equal(await watcher.page.evaluate(() => window.__noReload), marker, 'the page was not reloaded');
  if (SHOTS) await shot(watcher.page, 'flag-list-live');

  // An open flag page follows too.
  await watcher.page.goto(flagUrl('shop', 'search-ranking', 'staging'));
  await watcher.page.waitForSelector('#toggle[aria-checked="true"]');
  await watcher.page.waitForSelector('.live-ind.live-on');
  await actor.page.click('#toggle');
  await watcher.page.waitForSelector('#toggle[aria-checked="false"]');
  watcher.check();
  actor.check();
  await watcher.close();
  await actor.close();
});

test('kill with a reason and see the delivery receipt; restore; the dialog traps focus and Esc closes it', async () => {
  const key = await call('POST', '/api/v1/projects/shop/environments/production/sdk-keys', { name: 'fake-sdk' });
  const sdk = fakeSdk(key.secret, 'browser-test-sdk-1');
  await sdk.ready;
  const t = await openPage({ allow: [/status of 422/] });
  const { page } = t;
  await uiLogin(page, 'rita', PASSWORD);
  await page.goto(flagUrl('shop', 'checkout-v2'));
  await page.waitForSelector('#kill-button');
  // Responders get kill/restore only.
  assert.equal(await page.locator('#toggle').count(), 0);
  assert.equal(await page.locator('#save-targeting').count(), 0);

  await page.click('#kill-button');
  const dialog = page.locator('[role="dialog"][aria-modal="true"]');
  await dialog.waitFor();
  assert.ok(await dialog.getAttribute('aria-labelledby'));
  assert.equal(await page.evaluate(() => document.activeElement.id), 'kill-reason');
  for (let i = 0; i < 8; i++) {
    await page.keyboard.press('Tab');
    assert.ok(await page.evaluate(() => !!document.activeElement.closest('[role="dialog"]')), 'focus stays in the dialog');
  }
  await page.keyboard.press('Shift+Tab');
  assert.ok(await page.evaluate(() => !!document.activeElement.closest('[role="dialog"]')));
  // A reason is required.
  await page.click('#dialog-confirm');
  await page.waitForSelector('#kill-reason[aria-invalid="true"]');
  await page.fill('#kill-reason', 'Checkout errors spiking after the deploy');
  await page.fill('#kill-incident', 'INC-4711');
  await page.click('#dialog-confirm');
  const receipt = page.locator('.receipt-main');
  await receipt.waitFor();
  assert.match(await receipt.textContent(), /Applied by 1 \/ 1 connected SDK instances in \d+ ms/);
  await shot(page, 'kill-receipt');
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  await page.waitForSelector('#kill-banner');
  assert.match(await page.textContent('#kill-banner'), /INC-4711/);
  const killed = await config('shop', 'production', 'checkout-v2');
  assert.equal(killed.config.kill.reason, 'Checkout errors spiking after the deploy');
  assert.equal(killed.config.kill.by, 'rita');

  // Restore: Esc closes without doing anything; then restore for real.
  await page.click('#restore-button');
  await dialog.waitFor();
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  assert.ok((await config('shop', 'production', 'checkout-v2')).config.kill);
  await page.click('#restore-button');
  await page.fill('#kill-reason', 'Fixed by the hotfix');
  await page.click('#dialog-confirm');
  await receipt.waitFor();
  assert.match(await receipt.textContent(), /Applied by 1 \/ 1 connected SDK instances/);
  await page.click('.dialog-footer .btn-primary');
  await page.waitForSelector('#kill-button');
  assert.equal((await config('shop', 'production', 'checkout-v2')).config.kill, undefined);

  // Kill again (for the audit test) and leave it killed.
  await page.click('#kill-button');
  if (SHOTS) await page.setViewportSize({ width: 390, height: 844 });
  await page.fill('#kill-reason', 'Payment provider outage');
  await page.click('#dialog-confirm');
  await receipt.waitFor();
  await shot(page, 'kill-receipt-phone');
  await page.click('.dialog-footer .btn-primary');
  await page.waitForSelector('#kill-banner');
  sdk.stop();
  t.check();
  await t.close();
});

test('the fleet page lists connected SDK instances with their service, and follows the environment switch', async () => {
  const key = await call('POST', '/api/v1/projects/shop/environments/staging/sdk-keys', { name: 'fleet-sdk' });
  const sdk = fakeSdk(key.secret, 'fleet-browser-1', { 'x-switchyard-service': 'checkout', 'x-switchyard-service-version': '3.1.4', 'x-switchyard-sdk': 'fake/1' });
  await sdk.ready;
  const t = await openPage();
  const { page } = t;
  await uiLogin(page, 'vera', PASSWORD);
  await page.goto(`${base}/#/projects/shop/fleet`);
  await page.selectOption('#env-select', 'staging');
  const row = page.locator('#fleet-table tr[data-instance="fleet-browser-1"]');
  await row.waitFor();
  const text = await row.textContent();
  for (const part of ['checkout', '3.1.4', 'fake/1', 'SSE', 'current']) assert.ok(text.includes(part), `${part} in ${text}`);
  assert.match(await page.textContent('#fleet-summary'), /1 instance\(s\) in staging at revision \d+, 0 behind/);
  await shot(page, 'fleet');
  // Another environment has none; the page follows the switch.
  await page.selectOption('#env-select', 'development');
  await page.waitForSelector('#fleet-empty');
  sdk.stop();
  t.check();
  await t.close();
});

test('panic: kill every flag with a tag in one environment', async () => {
  await call('POST', '/api/v1/projects/shop/flags', { key: 'promo-a', kind: 'boolean', tags: ['promo'] });
  await call('POST', '/api/v1/projects/shop/flags', { key: 'promo-b', kind: 'boolean', tags: ['promo'] });
  const t = await openPage();
  const { page } = t;
  await uiLogin(page, 'rita', PASSWORD);
  await page.waitForSelector('#flag-table [data-key="promo-b"]');
  assert.equal(await page.locator('#new-flag').count(), 0);
  await page.click('#panic-button');
  await page.selectOption('#panic-env', 'staging');
  await page.selectOption('#panic-tag', 'promo');
  assert.match(await page.textContent('.panic-preview'), /2 flags/);
  await page.fill('#kill-reason', 'Promo misconfigured');
  await page.click('#dialog-confirm');
  await page.locator('.receipt-main').waitFor();
  await page.click('.dialog-footer .btn-primary');
  assert.ok((await config('shop', 'staging', 'promo-a')).config.kill);
  assert.ok((await config('shop', 'staging', 'promo-b')).config.kill);
  assert.equal((await config('shop', 'production', 'promo-a')).config.kill, undefined);
  await page.waitForSelector('#flag-table [data-key="promo-a"] [data-env="staging"][data-state="killed"]');
  t.check();
  await t.close();
});

test('the audit log shows the kill with a readable diff; restore the first version', async () => {
  const t = await openPage();
  const { page } = t;
  await uiLogin(page, 'admin', ADMIN_PASSWORD);
  await page.goto(`${base}/#/projects/shop/audit?flag=checkout-v2&environment=production`);
  const item = page.locator('#audit-list li[data-action="flag.kill"]').first();
  await item.waitFor();
  assert.match(await item.textContent(), /rita/);
  assert.match(await item.textContent(), /Payment provider outage/);
  await item.locator('summary').click();
  const row = item.locator('table.diff tr.diff-added', { hasText: 'kill.reason' }).first();
  await row.waitFor();
  assert.match(await row.textContent(), /added/);
  assert.match(await row.textContent(), /Payment provider outage/);
  // The rollout edit is there with its reason and changed fields.
  const edit = page.locator('#audit-list li[data-action="flag.config.update"]').first();
  assert.match(await edit.textContent(), /Roll out the new checkout in DACH/);
  await edit.locator('summary').click();
  assert.ok(await edit.locator('table.diff tr', { hasText: 'rules' }).count() > 0);
  await item.scrollIntoViewIfNeeded();
  await shot(page, 'audit-diff');
  if (SHOTS) {
    await page.setViewportSize({ width: 390, height: 844 });
    await item.scrollIntoViewIfNeeded();
    await shot(page, 'audit-diff-phone');
    await page.setViewportSize({ width: 1280, height: 900 });
  }

  // Revert production to version 1 from the flag's history.
  await page.goto(flagUrl('shop', 'checkout-v2'));
  await page.click('#history-list button[data-revert="1"]');
  await page.waitForSelector('#revert-diff');
  await page.fill('[role="dialog"] textarea', 'Back to the original configuration');
  await page.click('#revert-confirm');
  await page.waitForSelector('[role="dialog"]', { state: 'detached' });
  await page.waitForSelector('#history-list li.history-item .action:text("flag.revert")');
  const reverted = await config('shop', 'production', 'checkout-v2');
  assert.deepEqual(reverted.config.rules, []);
  assert.equal(reverted.config.on, false);
  const events = await call('GET', '/api/v1/projects/shop/audit?flag=checkout-v2&environment=production&limit=5');
  assert.equal(events.items[0].action, 'flag.revert');
  assert.equal(events.items[0].reason, 'Back to the original configuration');
  t.check();
  await t.close();
});

// ----------------------------------------------- undo / restore (issue 13) --
/** A flag with v2 = a rule (alice's edit) and v3 = turned on in production (the launch). */
async function ruleThenOn(key) {
  await call('POST', '/api/v1/projects/shop/flags', { key, kind: 'boolean' });
  const p = `/api/v1/projects/shop/environments/production/flags/${key}`;
  const cur = await call('GET', p);
  const rules = [{ id: 'se', clauses: [{ attribute: 'country', op: 'in', values: ['SE'] }], serve: { variant: 'on' } }];
  await call('PUT', p, { ...cur.config, version: cur.version, rules, reason: 'Sweden first' });
  await call('POST', `${p}/toggle`, { on: true, reason: 'launch' });
}

test('undo this change on an audit entry shows the dry-run diff and keeps a later toggle on', async () => {
  await ruleThenOn('undo-demo');
  const t = await openPage();
  const { page } = t;
  await uiLogin(page, 'admin', ADMIN_PASSWORD);
  await page.goto(`${base}/#/projects/shop/audit?flag=undo-demo&environment=production`);
  await page.click('#audit-list li[data-action="flag.config.update"] button[data-undo="2"]');
  const diff = page.locator('#revert-diff');
  await diff.waitFor();
  assert.match(await diff.textContent(), /rules/);
  assert.doesNotMatch(await diff.textContent(), /\bon\b/, 'only the rule goes back');
  assert.equal(await page.locator('#revert-warning').count(), 0, 'serving state does not change');
  assert.equal((await config('shop', 'production', 'undo-demo')).version, 3, 'the dry run wrote nothing');
  await page.fill('#revert-reason', 'The Swedish rule was wrong');
  await page.click('#revert-confirm');
  await page.waitForSelector('[role="dialog"]', { state: 'detached' });
  const after = await config('shop', 'production', 'undo-demo');
  assert.equal(after.config.on, true, 'the launch toggle made after that entry stays on');
  assert.deepEqual(after.config.rules, []);
  await page.waitForSelector('#audit-list li[data-action="flag.undo"]');
  t.check();
  await t.close();
});

test('undo is refused with the fields in the way when a later change touched them', async () => {
  await call('POST', '/api/v1/projects/shop/flags', { key: 'undo-conflict', kind: 'boolean' });
  const p = '/api/v1/projects/shop/environments/production/flags/undo-conflict';
  await call('POST', `${p}/toggle`, { on: true });
  await call('POST', `${p}/toggle`, { on: false });
  const t = await openPage({ allow: [/409/] });
  const { page } = t;
  await uiLogin(page, 'admin', ADMIN_PASSWORD);
  await page.goto(flagUrl('shop', 'undo-conflict'));
  await page.click('#history-list button[data-undo="2"]');
  const refused = page.locator('#undo-conflict');
  await refused.waitFor();
  assert.match(await refused.textContent(), /cannot be undone/);
  assert.match(await refused.locator('li').first().textContent(), /^on: .*version 3 by admin/);
  assert.equal(await page.locator('#revert-confirm').count(), 0, 'no way to confirm');
  await page.keyboard.press('Escape');
  assert.equal((await config('shop', 'production', 'undo-conflict')).version, 3);
  t.check();
  await t.close();
});

test('restore this version warns when it turns a production flag off; cancel writes nothing', async () => {
  await ruleThenOn('restore-demo');
  const t = await openPage();
  const { page } = t;
  await uiLogin(page, 'admin', ADMIN_PASSWORD);
  await page.goto(flagUrl('shop', 'restore-demo'));
  await page.click('#history-list button[data-revert="1"]');
  const warning = page.locator('#revert-warning');
  await warning.waitFor();
  assert.match(await warning.textContent(), /turns `restore-demo` OFF in production/);
  assert.equal(await warning.getAttribute('role'), 'alert');
  const diff = await page.textContent('#revert-diff');
  assert.match(diff, /on/);
  assert.match(diff, /rules/);
  await page.click('[role="dialog"] .dialog-footer button:text("Cancel")');
  await page.waitForSelector('[role="dialog"]', { state: 'detached' });
  const now = await config('shop', 'production', 'restore-demo');
  assert.equal(now.version, 3);
  assert.equal(now.config.on, true);
  t.check();
  await t.close();
});

test('a killed flag never shows "On"', async () => {
  await call('POST', '/api/v1/projects/shop/flags', { key: 'killed-on', kind: 'boolean' });
  const p = '/api/v1/projects/shop/environments/production/flags/killed-on';
  await call('POST', `${p}/toggle`, { on: true });
  await call('POST', `${p}/kill`, { reason: 'outage' });
  for (const [user, pw] of [['admin', ADMIN_PASSWORD], ['vera', PASSWORD]]) {
    const t = await openPage();
    const { page } = t;
    await uiLogin(page, user, pw);
    await page.goto(flagUrl('shop', 'killed-on'));
    await page.waitForSelector('#kill-banner');
    const status = page.locator('#kill-banner').locator('..');
    const texts = await status.locator('.switch-text, .state').allTextContents();
    assert.ok(texts.length > 0);
    for (const text of texts) assert.doesNotMatch(text.trim(), /^(● )?On$/, `${user}: ${texts}`);
    assert.match(texts.join(' '), /Killed/);
    assert.match(await page.textContent('#tab-production'), /Killed/);
    t.check();
    await t.close();
  }
});

test('notices clear when navigating away; a notice that led to a page stays', async () => {
  await call('POST', '/api/v1/projects/shop/flags', { key: 'toast-demo', kind: 'boolean' });
  const t = await openPage();
  const { page } = t;
  await uiLogin(page, 'admin', ADMIN_PASSWORD);
  await page.goto(flagUrl('shop', 'toast-demo'));
  await page.click('#toggle');
  await page.waitForSelector('#notices .notice');
  await page.click('nav a[href$="/audit"]');
  await page.waitForSelector('#audit-list li');
  assert.equal(await page.locator('#notices .notice').count(), 0, 'the toggle notice belongs to the flag page');
  t.check();
  await t.close();
});

test('the audit shows a creation as "created", not "v– → v1"', async () => {
  await call('POST', '/api/v1/projects/shop/flags', { key: 'created-demo', kind: 'boolean' });
  const t = await openPage();
  const { page } = t;
  await uiLogin(page, 'admin', ADMIN_PASSWORD);
  await page.goto(`${base}/#/projects/shop/audit?flag=created-demo`);
  const summary = page.locator('#audit-list li[data-action="flag.create"] summary');
  await summary.waitFor();
  const text = await summary.textContent();
  assert.match(text, /created/);
  assert.doesNotMatch(text, /v–/);
  t.check();
  await t.close();
});

test('the sticky save bar never covers the selector being used', async () => {
  await call('POST', '/api/v1/projects/shop/flags', { key: 'long-form', kind: 'boolean' });
  const p = '/api/v1/projects/shop/environments/production/flags/long-form';
  const cur = await call('GET', p);
  const rules = [0, 1, 2, 3].map((i) => ({ id: `r${i}`, clauses: [{ attribute: 'country', op: 'in', values: [`C${i}`] }], serve: { variant: 'on' } }));
  await call('PUT', p, { ...cur.config, version: cur.version, rules });
  const t = await openPage({ width: 1280, height: 700 });
  const { page } = t;
  await uiLogin(page, 'admin', ADMIN_PASSWORD);
  await page.goto(flagUrl('shop', 'long-form'));
  await page.waitForSelector('#targeting-form');
  // A mouse user scrolls until a selector sits near the bottom edge and clicks it
  // there: what is under the pointer must be the selector, never a bar over it.
  const hit = (sel) => page.evaluate((s) => {
    const el = document.querySelector(s);
    window.scrollBy(0, el.getBoundingClientRect().bottom - window.innerHeight + 4);
    const r = el.getBoundingClientRect();
    const top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    return top === el || el.contains(top) ? 'selector' : `${top?.tagName}.${top?.className}`;
  }, sel);
  await page.fill('input[data-path="rules[0].description"]', 'edited');
  for (const i of [0, 1, 2]) {
    const sel = `select[data-path="rules[${i}].clauses[0].op"]`;
    assert.equal(await hit(sel), 'selector', `${sel} is covered`);
    await page.selectOption(sel, 'contains', { timeout: 3000 });
  }
  // The save button stays one click away while edits are unsaved.
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.click('#unsaved-note button');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'targeting-reason');
  t.check();
  await t.close();
});

test('restore to a time before the environment existed says so', async () => {
  const t = await openPage({ allow: [/422/] });
  const { page } = t;
  await uiLogin(page, 'admin', ADMIN_PASSWORD);
  await page.goto(`${base}/#/projects/shop/audit`);
  await page.selectOption('#restore-env', 'production');
  await page.fill('#restore-at', '2001-01-01T00:00:00');
  await page.fill('#restore-reason', 'Way back');
  await page.click('#restore-preview-button');
  await page.waitForSelector('.restore-card .field-error:not([hidden])');
  assert.match(await page.textContent('.restore-card'), /did not exist then/);
  assert.doesNotMatch(await page.textContent('#restore-preview'), /Nothing changed|would change/);
  t.check();
  await t.close();
});

test('restore an environment to a time shows the dry-run diff first', async () => {
  const t = await openPage();
  const { page } = t;
  const mark = new Date();
  await new Promise((r) => setTimeout(r, 1100));
  await call('POST', '/api/v1/projects/shop/environments/development/flags/banner-color/toggle', { on: true });
  await uiLogin(page, 'admin', ADMIN_PASSWORD);
  await page.goto(`${base}/#/projects/shop/audit`);
  await page.selectOption('#restore-env', 'development');
  const local = new Date(mark.getTime() - mark.getTimezoneOffset() * 60000).toISOString().slice(0, 19);
  await page.fill('#restore-at', local);
  await page.fill('#restore-reason', 'Undo the afternoon');
  await page.click('#restore-preview-button');
  await page.waitForSelector('#restore-preview h3');
  assert.match(await page.textContent('#restore-preview'), /banner-color/);
  // Nothing was written by the dry run.
  assert.equal((await config('shop', 'development', 'banner-color')).config.on, true);
  await page.click('#restore-confirm');
  await page.waitForSelector('#restore-preview .success');
  assert.equal((await config('shop', 'development', 'banner-color')).config.on, false);
  t.check();
  await t.close();
});

test('viewers see no edit controls', async () => {
  const t = await openPage();
  const { page } = t;
  await uiLogin(page, 'vera', PASSWORD);
  await page.waitForSelector('#flag-table [data-key="checkout-v2"]');
  for (const sel of ['#new-flag', '#panic-button']) assert.equal(await page.locator(sel).count(), 0, sel);
  assert.equal(await page.locator('a.nav-link', { hasText: 'SDK keys' }).count(), 0);
  await page.goto(flagUrl('shop', 'checkout-v2'));
  await page.waitForSelector('#targeting-card .summary');
  await page.waitForSelector('#history-list');
  for (const sel of ['#toggle', '#kill-button', '#restore-button', '#save-targeting', '#targeting-form', '#definition-form', 'button[data-revert]', 'button[data-undo]', 'button[data-action="add-rule"]']) {
    assert.equal(await page.locator(sel).count(), 0, `viewer sees ${sel}`);
  }
  await page.goto(`${base}/#/projects/shop/audit`);
  await page.waitForSelector('#audit-list li.audit-item');
  assert.equal(await page.locator('button[data-revert], button[data-undo]').count(), 0);
  assert.equal(await page.locator('#restore-preview-button').count(), 0);
  t.check();
  await t.close();
});

test('change your own password (other sessions end); an admin resets another user\'s', async () => {
  await call('POST', '/api/v1/users', { username: 'paula', password: PASSWORD, role: 'viewer' });
  const other = await login('paula', PASSWORD);
  const t = await openPage({ allow: [/status of 422/] });
  const { page } = t;
  await uiLogin(page, 'paula', PASSWORD);
  await page.click('#change-password');
  await page.fill('#pw-current', 'not-the-password');
  await page.fill('#pw-new', 'paulas-new-password');
  await page.fill('#pw-repeat', 'paulas-new-password');
  await page.click('.dialog-footer .btn-primary');
  const wrong = page.locator('.field-error[data-error-path="current_password"]');
  await wrong.waitFor();
  assert.match(await wrong.textContent(), /current password is not correct/);
  await page.fill('#pw-current', PASSWORD);
  await page.fill('#pw-new', 'short');
  await page.fill('#pw-repeat', 'short');
  await page.click('.dialog-footer .btn-primary');
  const short = page.locator('.field-error[data-error-path="new_password"]');
  await short.waitFor();
  assert.match(await short.textContent(), /at least 12 characters/);
  await page.fill('#pw-new', 'paulas-new-password');
  await page.fill('#pw-repeat', 'paulas-new-password');
  await page.click('.dialog-footer .btn-primary');
  await page.waitForSelector('.dialog', { state: 'detached' });
  // This page goes on with its fresh session; the other session has ended.
  await page.goto(`${base}/#/`);
  await page.waitForSelector('#logout');
  await assert.rejects(call('GET', '/api/v1/me', undefined, other), /401/);
  await login('paula', 'paulas-new-password');
  t.check();
  await t.close();

  const a = await openPage();
  await uiLogin(a.page, 'admin', ADMIN_PASSWORD);
  await a.page.goto(`${base}/#/admin`);
  await a.page.click('button[aria-label="Reset the password of paula"]');
  await a.page.fill('#pw-reset', 'reset-by-an-admin');
  await a.page.fill('#pw-reset-repeat', 'reset-by-an-admin');
  await a.page.click('.dialog-footer .btn-primary');
  await a.page.waitForSelector('.dialog', { state: 'detached' });
  await login('paula', 'reset-by-an-admin');
  a.check();
  await a.close();
});

test('alert triggers: the URL is shown once; a firing alert kills the flag, and the open page follows live', async () => {
  const t = await openPage();
  const { page } = t;
  await uiLogin(page, 'admin', ADMIN_PASSWORD);
  await page.goto(flagUrl('shop', 'banner-color'));
  await page.waitForSelector('#trg-name');
  await page.waitForSelector('.live-ind.live-on');
  await page.fill('#trg-name', 'alertmanager-banner');
  await page.click('#triggers-card button[type=submit]');
  const hook = await page.inputValue('#triggers-card .secret-value');
  assert.match(hook, /^http:\/\/127\.0\.0\.1:\d+\/hooks\/v1\/triggers\/trg_/);
  assert.equal(await page.locator('#trigger-table tbody tr').count(), 1);
  const fired = await fetch(hook, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status: 'firing', commonLabels: { alertname: 'BannerErrors' } }) });
  assert.ok(fired.ok, `trigger answered ${fired.status}`);
  await page.waitForSelector('#kill-banner');
  assert.match(await page.textContent('#kill-banner'), /alertmanager-banner/);
  assert.ok((await config('shop', 'production', 'banner-color')).config.kill);
  t.check();
  await t.close();
});

test('a validation error appears next to its field; a conflict is explained, never overwritten', async () => {
  const t = await openPage({ allow: [/status of 422/, /status of 409/] });
  const { page } = t;
  await uiLogin(page, 'bob', PASSWORD);
  await page.goto(flagUrl('shop', 'search-ranking'));
  await page.click('button[data-action="add-rule"]');
  await page.fill('input[data-path="rules[0].clauses[0].attribute"]', 'email');
  await page.selectOption('select[data-path="rules[0].clauses[0].op"]', 'matches');
  await page.fill('textarea[data-path="rules[0].clauses[0].values"]', '.*@example\\.com$\n(unclosed');
  await page.click('#save-targeting');
  const err = page.locator('.field-error[data-error-path="rules[0].clauses[0].values[1]"]');
  await err.waitFor();
  assert.match(await err.textContent(), /value 2: invalid regex/i);
  // Right next to the values field, which is marked invalid and described by the message.
  const adjacent = await page.evaluate(() => {
    const input = document.querySelector('textarea[data-path="rules[0].clauses[0].values"]');
    const msg = document.querySelector('.field-error[data-error-path="rules[0].clauses[0].values[1]"]');
    return input.closest('.field').nextElementSibling === msg && input.getAttribute('aria-invalid') === 'true'
      && input.getAttribute('aria-describedby').includes(msg.id) && document.activeElement === input;
  });
  assert.ok(adjacent, 'the error is rendered after the values field and linked to it');
  await shot(page, 'validation-error');

  // Fix it; meanwhile someone else changes the flag → 409, explained.
  await page.fill('textarea[data-path="rules[0].clauses[0].values"]', '.*@example\\.com$');
  const current = await config('shop', 'production', 'search-ranking');
  await call('PUT', '/api/v1/projects/shop/environments/production/flags/search-ranking', { ...current.config, version: current.version, targets: [{ variant: 'on', keys: ['qa-user'] }], reason: 'QA access' });
  await page.click('#save-targeting');
  await page.waitForSelector('#conflict-reapply');
  assert.match(await page.textContent('#conflict'), /Nothing was saved and nothing was overwritten/);
  assert.match(await page.textContent('#conflict'), /targets/);
  await page.click('#conflict-reapply');
  // Wait for the save itself (the button is also disabled while it is in flight).
  const saved = page.waitForResponse((r) => r.request().method() === 'PUT'
    && r.url().endsWith('/api/v1/projects/shop/environments/production/flags/search-ranking'));
  await page.click('#save-targeting');
  assert.equal((await saved).status(), 200, 'the reapplied edit saves');
  await page.waitForSelector('#save-targeting:disabled');
  const merged = await config('shop', 'production', 'search-ranking');
  assert.deepEqual(merged.config.targets, [{ variant: 'on', keys: ['qa-user'] }], 'their change is kept');
  assert.equal(merged.config.rules[0].clauses[0].values[0], '.*@example\\.com$', 'my change is applied');
  t.check();
  await t.close();
});

test('prerequisites: pick a flag and variant, save; a loop is refused next to the field', async () => {
  const t = await openPage({ allow: [/status of 409/] });
  const { page } = t;
  for (const key of ['prq-payments', 'prq-checkout']) await call('POST', '/api/v1/projects/shop/flags', { key, kind: 'boolean' });
  await uiLogin(page, 'admin', ADMIN_PASSWORD);
  await page.goto(flagUrl('shop', 'prq-checkout'));
  await page.click('button[data-action="add-prerequisite"]');
  await page.selectOption('select[data-path="prerequisites[0].flag"]', 'prq-payments');
  assert.equal(await page.inputValue('select[data-path="prerequisites[0].variant"]'), 'on');
  await page.fill('#targeting-reason', 'Needs the new payments');
  // Wait for the save itself (the button is also disabled while it is in flight).
  const put = page.waitForResponse((r) => r.request().method() === 'PUT'
    && r.url().endsWith('/api/v1/projects/shop/environments/production/flags/prq-checkout'));
  await page.click('#save-targeting');
  assert.equal((await put).status(), 200, 'the prerequisite saves');
  await page.waitForSelector('#save-targeting:disabled');
  const saved = await config('shop', 'production', 'prq-checkout');
  assert.deepEqual(saved.config.prerequisites, [{ flag: 'prq-payments', variant: 'on' }]);

  // The other way round closes a loop: refused, explained at the field, nothing saved.
  await page.goto(flagUrl('shop', 'prq-payments'));
  await page.click('button[data-action="add-prerequisite"]');
  await page.selectOption('select[data-path="prerequisites[0].flag"]', 'prq-checkout');
  await page.click('#save-targeting');
  const err = page.locator('.field-error[data-error-path="prerequisites"]');
  await err.waitFor();
  assert.match(await err.textContent(), /prerequisites loop: prq-payments -> prq-checkout -> prq-payments/);
  assert.equal(await page.locator('#conflict-reapply').count(), 0, 'not mistaken for a concurrent edit');
  assert.equal((await config('shop', 'production', 'prq-payments')).version, 1);
  await shot(page, 'prerequisites');
  t.check();
  await t.close();
});

test(`the flag list with ${BIG} flags loads and filters fast`, async (tt) => {
  await call('POST', '/api/v1/projects', { key: 'big', name: 'Big project' });
  for (const env of ['development', 'staging', 'production']) await call('POST', '/api/v1/projects/big/environments', { key: env });
  const t0 = Date.now();
  let next = 0;
  const worker = async () => {
    while (next < BIG) {
      const i = next++;
      const n = String(i).padStart(4, '0');
      await call('POST', '/api/v1/projects/big/flags', { key: `big-flag-${n}`, name: `Big flag ${n}`, kind: 'boolean', tags: [i % 2 ? 'odd' : 'even', `group-${i % 10}`], owner: `team-${i % 7}`, description: `Seeded flag number ${i}` });
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  for (let i = 0; i < 10; i++) await call('POST', `/api/v1/projects/big/environments/production/flags/big-flag-${String(i * Math.floor(BIG / 10)).padStart(4, '0')}/toggle`, { on: true });
  const seedMs = Date.now() - t0;

  const t = await openPage();
  const { page } = t;
  await uiLogin(page, 'admin', ADMIN_PASSWORD);
  await page.goto('about:blank');
  const navStart = Date.now();
  await page.goto(`${base}/#/projects/big/flags`);
  await page.waitForFunction((n) => document.querySelector('#flag-table')?.dataset.rendered === String(n), BIG, { timeout: 60000 });
  const navToRows = Date.now() - navStart;
  const render = await page.evaluate(() => window.switchyard.lastRender);
  assert.equal(render.rows, BIG);
  assert.equal(await page.locator('#flag-table .fg-body [role="row"]').count(), BIG);

  // Search (debounced), tag and state filters.
  await page.fill('#flag-search', `big-flag-${String(BIG - 1).padStart(4, '0')}`);
  await page.waitForFunction(() => document.querySelector('#flag-table').dataset.rendered === '1');
  await page.fill('#flag-search', '');
  await page.waitForFunction((n) => document.querySelector('#flag-table').dataset.rendered === String(n), BIG);
  const fullRerender = await page.evaluate(() => window.switchyard.lastRender);
  await page.selectOption('#flag-tag', 'even');
  await page.waitForFunction((n) => document.querySelector('#flag-table').dataset.rendered === String(n), BIG / 2);
  await page.selectOption('#flag-tag', '');
  await page.selectOption('#flag-state', 'on');
  await page.waitForFunction(() => document.querySelector('#flag-table').dataset.rendered === '10');
  assert.match(await page.textContent('#flag-count'), /Showing 10 of/);
  await shot(page, 'flag-list');
  await page.selectOption('#flag-state', '');
  await page.waitForFunction((n) => document.querySelector('#flag-table').dataset.rendered === String(n), BIG);
  await shot(page, 'flag-list-big');
  if (SHOTS) {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.selectOption('#flag-state', 'on');
    await page.waitForFunction(() => document.querySelector('#flag-table').dataset.rendered === '10');
    await shot(page, 'flag-list-phone');
  }
  const summaryLine = `flag list with ${BIG} flags: navigation → rows visible ${navToRows} ms (in page: rows painted ${Math.round(render.paintedAt)} ms after navigation start; `
    + `building the rows ${render.ms.toFixed(1)} ms, to painted ${render.painted.toFixed(1)} ms; re-render after clearing the search ${fullRerender.ms.toFixed(1)} ms, painted ${fullRerender.painted.toFixed(1)} ms; seeding via the API ${seedMs} ms)`;
  tt.diagnostic(summaryLine);
  console.log(`# ${summaryLine}`);
  assert.ok(render.ms < 2000, `rendering ${BIG} rows took ${render.ms} ms`);
  t.check();
  await t.close();
});

test('webhooks: the signing secret is shown once; a kill is delivered signed and shows in the history', async () => {
  const received = [];
  const receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.writeHead(204);
      res.end();
    });
  });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  const hookUrl = `http://127.0.0.1:${receiver.address().port}/incident`;
  await call('POST', '/api/v1/projects/shop/flags', { key: 'hook-demo', kind: 'boolean' });
  const t = await openPage();
  const { page } = t;
  try {
    await uiLogin(page, 'admin', ADMIN_PASSWORD);
    await page.goto(`${base}/#/projects/shop/webhooks`);
    await page.waitForSelector('#hook-url');
    // Default subscription: kill, restore, panic; not every change.
    assert.equal(await page.isChecked('#hook-ev-flag-killed'), true);
    assert.equal(await page.isChecked('#hook-ev-flag-changed'), false);
    await page.fill('#hook-url', hookUrl);
    await page.click('text=Create webhook');
    const secret = await page.inputValue('.secret-value');
    assert.match(secret, /^whs_/);
    await page.waitForSelector('#webhook-table tbody tr');
    assert.match(await page.textContent('#webhook-table tbody'), /flag\.killed, flag\.restored, env\.panic/);
    await shot(page, 'webhooks');

    await call('POST', '/api/v1/projects/shop/environments/production/flags/hook-demo/kill', { reason: 'webhook drill', incident: 'INC-7' });
    const deadline = Date.now() + 15000;
    while (!received.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(received.length, 1, 'the kill reached the receiver once');
    const [{ headers, body }] = received;
    const expected = `sha256=${crypto.createHmac('sha256', secret).update(body).digest('hex')}`;
    assert.equal(headers['x-switchyard-signature'], expected);
    const event = JSON.parse(body);
    assert.equal(event.event, 'flag.killed');
    assert.equal(event.reason, 'webhook drill');
    assert.equal(event.incident, 'INC-7');
    assert.deepEqual(event.flags, ['hook-demo']);

    await page.click('button[aria-label^="Deliveries of"]');
    await page.waitForSelector('#webhook-deliveries tr[data-status=delivered]');
    assert.match(await page.textContent('#webhook-deliveries tbody'), /flag\.killed[\s\S]*delivered[\s\S]*HTTP 204/);
    t.check();
  } finally {
    await t.close();
    receiver.close();
  }
});
