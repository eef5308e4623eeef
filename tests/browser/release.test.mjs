// Browser tests of the flag page's release plan card, with a real server
// (its scheduler ticking every 100 ms) and the real Rust SDK
// (examples/telemetry-demo: telemetry on, the treatment `on` failing every
// 10th request, the control never): the stage timeline, the buttons that
// steer a plan, and a guard trip that rolls the flag back while the page
// is open (the card follows it live).
//
// The guard counts whole minutes of telemetry after a stage started, so
// the trip test waits for the next minute before the SDK runs (a wait, not
// a timing assertion).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM, LAUNCH_ARGS, apiClient, openPage, startServer, uiLogin } from './support.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const DEMO = path.resolve(here, process.env.TELEMETRY_DEMO_BIN || '../../target/debug/telemetry-demo');
const ADMIN_PASSWORD = 'admin-password-for-tests';
const ENV = '/api/v1/projects/shop/environments/production';

let server;
let browser;
let api;
let sdkKey;

/** One round of the real SDK on `flag`: `requests` users, every 10th `on` request fails. */
function sdkRound(flag, requests) {
  return new Promise((resolve, reject) => {
    if (!fs.existsSync(DEMO)) {
      reject(new Error(`${DEMO} not found: run \`cargo build --workspace --bins\` first or set TELEMETRY_DEMO_BIN`));
      return;
    }
    const child = spawn(DEMO, [], {
      env: { ...process.env, SWITCHYARD_URL: server.url, SWITCHYARD_SDK_KEY: sdkKey, FLAG: flag, ROUNDS: '1', REQUESTS: String(requests), FAIL_EVERY: '10', RUST_LOG: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const m = /round 1: (\d+) requests, (\d+) true, (\d+) errors, flushed/.exec(out);
      if (code !== 0 || !m) reject(new Error(`telemetry-demo exited ${code}:\n${out}`));
      else resolve({ requests: Number(m[1]), on: Number(m[2]), errors: Number(m[3]) });
    });
  });
}

async function flag(key) {
  await api.call('POST', '/api/v1/projects/shop/flags', { key, kind: 'boolean' });
  const cfg = `${ENV}/flags/${key}`;
  const current = await api.call('GET', cfg);
  await api.call('PUT', cfg, { ...current.config, version: current.version, on: true, fallthrough: { variant: 'off' } });
}

before(async () => {
  server = await startServer({ SWITCHYARD_ADMIN_PASSWORD: ADMIN_PASSWORD, SWITCHYARD_SCHEDULER_TICK: '100ms' });
  api = apiClient(server.url);
  api.token = await api.login('admin', ADMIN_PASSWORD);
  await api.call('POST', '/api/v1/projects', { key: 'shop', name: 'Shop' });
  await api.call('POST', '/api/v1/projects/shop/environments', { key: 'production' });
  await flag('slow-rollout');
  await flag('checkout-flow');
  sdkKey = (await api.call('POST', `${ENV}/sdk-keys`, { name: 'telemetry-demo' })).secret;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const stage = (page, i) => page.locator(`#release-timeline li[data-stage="${i}"]`);

test('a flag without a plan says so', async () => {
  const t = await openPage(browser);
  await uiLogin(t.page, server.url, 'admin', ADMIN_PASSWORD);
  await t.page.goto(`${server.url}/#/projects/shop/flags/slow-rollout?env=production`);
  await t.page.waitForSelector('#release-card[data-state="none"]');
  assert.match(await t.page.textContent('#release-card'), /No release plan for this flag here/);
  await t.check();
  await t.close();
});

test('the timeline shows the stages and the buttons pause, resume, promote and abort the plan', async () => {
  // Long stages: only the buttons move this plan.
  const stages = [10, 50, 100].map((percent) => ({ percent, min_duration_seconds: 3600 }));
  await api.call('POST', `${ENV}/flags/slow-rollout/release`, { stages, reason: 'slowly' });
  const t = await openPage(browser);
  const { page } = t;
  await uiLogin(page, server.url, 'admin', ADMIN_PASSWORD);
  await page.goto(`${server.url}/#/projects/shop/flags/slow-rollout?env=production`);
  await page.waitForSelector('#release-card[data-state="running"] #release-timeline li[data-stage="0"][data-status="current"]');
  assert.equal(await stage(page, 0).locator('time').count(), 1, 'the current stage shows when it started');
  assert.deepEqual(await page.locator('#release-timeline li').evaluateAll((lis) => lis.map((li) => li.dataset.status)), ['current', 'pending', 'pending']);
  assert.match(await stage(page, 1).textContent(), /Stage 2: 50 %/);

  await page.click('#release-card button[data-action="pause"]');
  await page.waitForSelector('#release-card[data-state="paused"]');
  await page.click('#release-card button[data-action="resume"]');
  await page.waitForSelector('#release-card[data-state="running"]');

  await page.click('#release-card button[data-action="promote"]');
  await page.waitForSelector('#release-timeline li[data-stage="1"][data-status="current"]');
  assert.equal(await stage(page, 0).getAttribute('data-status'), 'done');
  assert.match(await stage(page, 0).locator('.stage-verdict').textContent(), /promoted by hand/);
  assert.equal(await stage(page, 0).locator('time').count(), 2, 'a stage left shows its start and end');

  await page.click('#release-card button[data-action="abort"]');
  await page.fill('[role="dialog"] textarea[name="reason"]', 'changed our minds');
  await page.click('[role="dialog"] .dialog-footer .btn-danger');
  await page.waitForSelector('#release-card[data-state="aborted"]');
  assert.equal(await stage(page, 1).getAttribute('data-status'), 'aborted');
  assert.match(await page.textContent('#release-summary'), /aborted by admin: changed our minds/);
  assert.equal(await page.locator('#release-card button[data-action]').count(), 0, 'nothing to steer on a finished plan');
  const plan = await api.call('GET', `${ENV}/flags/slow-rollout/release`);
  assert.equal(plan.state, 'aborted');
  assert.deepEqual(plan.history.map((e) => e.verdict), ['promoted', 'aborted']);
  await t.check();
  await t.close();
});

test('the guard trips on the real SDK telemetry and the open page shows the rollback', async () => {
  const body = { stages: [{ percent: 50, min_sample: 1000 }, { percent: 100 }], guards: { error_rate: true, latency_p95: false }, reason: 'guarded' };
  await api.call('POST', `${ENV}/flags/checkout-flow/release`, body);
  const t = await openPage(browser);
  const { page } = t;
  await uiLogin(page, server.url, 'admin', ADMIN_PASSWORD);
  await page.goto(`${server.url}/#/projects/shop/flags/checkout-flow?env=production`);
  await page.waitForSelector('#release-timeline li[data-stage="0"][data-status="current"]');

  // The guard counts whole minutes after the stage started: wait for the next one.
  await new Promise((r) => setTimeout(r, 61000 - (Date.now() % 60000)));
  const round = await sdkRound('checkout-flow', 3000);
  assert.ok(round.on > 1000 && round.requests - round.on > 1000, `both variants served: ${JSON.stringify(round)}`);

  await page.waitForSelector('#release-card[data-state="rolled_back"]', { timeout: 60000 });
  assert.equal(await stage(page, 0).getAttribute('data-status'), 'tripped');
  assert.match(await stage(page, 0).locator('.stage-verdict').textContent(), /guard tripped/);
  assert.match(await stage(page, 0).locator('[data-field="trip"]').textContent(), /^error_rate: /);
  assert.match(await page.textContent('#release-summary'), /error_rate worse on "on" than "off" in stage 1/);
  assert.equal(await stage(page, 1).getAttribute('data-status'), 'pending');
  // The kill went through the kill path: the status card shows it.
  await page.waitForSelector('#status-card #restore-button');
  await t.check();
  await t.close();
});

test('a plan started where approvals are on shows Awaiting approval, then starts once its request is approved and applied', async () => {
  const GATED = '/api/v1/projects/shop/environments/gated';
  await api.call('POST', '/api/v1/projects/shop/environments', { key: 'gated' });
  await api.call('POST', '/api/v1/projects/shop/flags', { key: 'gated-rollout', kind: 'boolean' });
  const current = await api.call('GET', `${GATED}/flags/gated-rollout`);
  await api.call('PUT', `${GATED}/flags/gated-rollout`, { ...current.config, version: current.version, on: true, fallthrough: { variant: 'off' } });
  await api.call('PUT', `${GATED}/approval-policy`, { approvals: 1 });
  const reviewer = apiClient(server.url);
  reviewer.token = (await api.call('POST', '/api/v1/tokens', { name: 'reviewer', role: 'editor' })).secret;
  const plan = await api.call('POST', `${GATED}/flags/gated-rollout/release`, { stages: [{ percent: 100, min_duration_seconds: 0 }], reason: 'gated' });

  const t = await openPage(browser);
  const { page } = t;
  await uiLogin(page, server.url, 'admin', ADMIN_PASSWORD);
  await page.goto(`${server.url}/#/projects/shop/flags/gated-rollout?env=gated`);
  await page.waitForSelector('#release-card[data-state="awaiting_approval"]');
  assert.equal(await page.textContent('#release-state'), 'Awaiting approval');
  assert.match(await page.textContent('#release-summary'), new RegExp(`change request ${plan.change_request}`));
  assert.equal(await page.isEnabled('#release-card button[data-action="abort"]'), true);

  await reviewer.call('POST', `${GATED}/change-requests/${plan.change_request}/approve`, {});
  await api.call('POST', `${GATED}/change-requests/${plan.change_request}/apply`, {});
  // The request's write reaches the page on the stream; the plan runs, then completes.
  await page.waitForSelector('#release-card[data-state="running"], #release-card[data-state="completed"]', { timeout: 30000 });
  await page.waitForSelector('#release-card[data-state="completed"]', { timeout: 30000 });
  assert.notEqual(await page.textContent('#release-state'), 'Awaiting approval');
  await t.check();
  await t.close();
});
