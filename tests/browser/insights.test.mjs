// Browser tests of flag insights (issue 17 parts 2-4): the kill and panic
// dialogs' blast radius, the flag page's usage card and the stale-flags
// page, on the real server binary. The fleet is three SDK instances
// speaking the real protocol over sockets from this process: an open SSE
// stream each (naming instance and service) and telemetry batches with
// known counts, so every number on screen is known.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { CHROMIUM, LAUNCH_ARGS, apiClient, openPage, startServer, uiLogin } from './support.mjs';

const ADMIN_PASSWORD = 'admin-password-for-tests';
const ENV = '/api/v1/projects/shop/environments/production';
const FLEET = [
  { instance: 'i-web-1', service: 'web', evaluations: [['checkout', 'on', 30]] },
  { instance: 'i-web-2', service: 'web', evaluations: [['checkout', 'on', 15]] },
  { instance: 'i-api-1', service: 'api', evaluations: [['legacy-banner', 'off', 5]] },
];

let server;
let browser;
let api;
const streams = [];

/** An SDK instance's stream, kept open (the fleet counts it as connected). */
async function connect(key, { instance, service }) {
  const controller = new AbortController();
  const res = await fetch(`${server.url}/sdk/v1/stream`, {
    headers: { authorization: `Bearer ${key}`, 'x-switchyard-instance': instance, 'x-switchyard-service': service, 'x-switchyard-sdk': 'browser-test/1' },
    signal: controller.signal,
  });
  assert.equal(res.status, 200);
  const reader = res.body.getReader();
  (async () => {
    try {
      while (!(await reader.read()).done);
    } catch {
      // aborted at the end
    }
  })();
  streams.push(controller);
}

async function sendTelemetry(key, { instance, service, evaluations }) {
  const now = Date.now();
  const body = { sdk: 'browser-test/1', instance, start_ms: now - 5000, end_ms: now, evaluations: evaluations.map(([flag, variant, count]) => ({ flag, variant, count })) };
  const res = await fetch(`${server.url}/sdk/v1/telemetry`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'x-switchyard-instance': instance, 'x-switchyard-service': service },
    body: JSON.stringify(body),
  });
  assert.equal(res.status, 202, await res.text());
}

before(async () => {
  server = await startServer({ SWITCHYARD_ADMIN_PASSWORD: ADMIN_PASSWORD });
  api = apiClient(server.url);
  api.token = await api.login('admin', ADMIN_PASSWORD);
  await api.call('POST', '/api/v1/projects', { key: 'shop', name: 'Shop' });
  await api.call('POST', '/api/v1/projects/shop/environments', { key: 'production' });
  await api.call('POST', '/api/v1/projects/shop/flags', { key: 'checkout', kind: 'boolean', tags: ['payments'] });
  await api.call('POST', '/api/v1/projects/shop/flags', { key: 'legacy-banner', kind: 'boolean', tags: ['payments'], expires_at: '2026-01-01T00:00:00Z' });
  await api.call('POST', `${ENV}/flags/checkout/toggle`, { on: true });
  await api.call('POST', '/api/v1/projects/shop/flags', { key: 'upsell', kind: 'boolean' });
  await api.call('PUT', `${ENV}/flags/upsell`, { version: 1, reason: 'needs checkout', on: true, off_variant: 'off', fallthrough: { variant: 'on' }, prerequisites: [{ flag: 'checkout', variant: 'on' }] });
  const key = (await api.call('POST', `${ENV}/sdk-keys`, { name: 'fleet' })).secret;
  for (const member of FLEET) {
    await connect(key, member);
    await sendTelemetry(key, member);
  }
  // Wait until the fleet lists all three.
  for (let i = 0; i < 100; i++) {
    const fleet = await api.call('GET', `${ENV}/fleet`);
    if (fleet.instances.length === 3) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
});

after(async () => {
  for (const c of streams) c.abort();
  await browser?.close();
  await server?.stop();
});

const rowText = async (page, selector) => (await page.locator(selector).allTextContents()).map((t) => t.trim());

test('the kill dialog shows who the kill reaches, and a cancelled dialog kills nothing', async () => {
  const t = await openPage(browser);
  const { page } = t;
  await uiLogin(page, server.url, 'admin', ADMIN_PASSWORD);
  await page.goto(`${server.url}/#/projects/shop/flags/checkout?env=production`);
  await page.click('#kill-button');
  assert.equal(await page.isEnabled('#dialog-confirm'), true, 'the Kill button never waits for the blast radius');
  await page.waitForSelector('#blast-radius .blast-summary');
  assert.equal(await page.textContent('#blast-radius .blast-summary'), '2 of 3 connected SDK instances evaluated this flag in the last 15 min.');
  assert.match(await page.textContent('#blast-radius .blast-flag[data-flag="checkout"] p'), /3\.0 evaluations\/min; serving on \(45\); killed it serves off/);
  assert.equal(await page.textContent('#blast-radius .blast-dependents'), 'Flags with it as a prerequisite serve their off variant too: upsell.');
  const web = '#blast-radius tr[data-service="web"]';
  assert.deepEqual(await rowText(page, `${web} td`), ['web', '2', '2', '3.0']);
  assert.deepEqual(await rowText(page, '#blast-radius tr[data-service="api"] td'), ['api', '0', '1', '0.0']);
  await page.click('.dialog-actions button:has-text("Cancel")');
  const cfg = await api.call('GET', `${ENV}/flags/checkout`);
  assert.equal(cfg.config.kill, undefined, 'nothing was killed');
  await t.check();
  await t.close();
});

test('the panic dialog shows the blast radius of the tag', async () => {
  const t = await openPage(browser);
  const { page } = t;
  await uiLogin(page, server.url, 'admin', ADMIN_PASSWORD);
  await page.goto(`${server.url}/#/projects/shop/flags`);
  await page.click('#panic-button');
  await page.selectOption('#panic-tag', 'payments');
  await page.waitForSelector('#blast-radius .blast-flag[data-flag="legacy-banner"]');
  assert.equal(await page.textContent('#blast-radius .blast-summary'), '3 of 3 connected SDK instances evaluated these flags in the last 15 min.');
  assert.deepEqual(await rowText(page, '#blast-radius .blast-flag[data-flag="legacy-banner"] tr[data-service="api"] td'), ['api', '1', '1', '0.3']);
  await page.click('.dialog-actions button:has-text("Cancel")');
  await t.check();
  await t.close();
});

test('the flag page shows who evaluates the flag', async () => {
  const t = await openPage(browser);
  const { page } = t;
  await uiLogin(page, server.url, 'admin', ADMIN_PASSWORD);
  await page.goto(`${server.url}/#/projects/shop/flags/checkout?env=production`);
  await page.waitForSelector('#usage-card #usage-services');
  assert.equal(await page.textContent('#usage-envs tr[data-env="production"] .day'), 'on 45');
  assert.equal(await page.textContent('#usage-envs tr[data-env="production"] .week'), 'on 45');
  assert.match(await page.textContent('#usage-envs tr[data-env="production"] .last'), /second|minute|now/);
  const web = await rowText(page, '#usage-services tr[data-service="web"] td');
  assert.deepEqual(web.slice(0, 4), ['web', '2', '45', '45']);
  await t.check();
  await t.close();
});

test('the stale-flags page lists the expired flag, with its look-back', async () => {
  const t = await openPage(browser);
  const { page } = t;
  await uiLogin(page, server.url, 'admin', ADMIN_PASSWORD);
  await page.goto(`${server.url}/#/projects/shop/stale`);
  await page.waitForSelector('#stale-table');
  assert.deepEqual(await rowText(page, '#stale-table tbody tr td:nth-child(1)'), ['legacy-banner']);
  assert.equal(await page.textContent('#stale-table tr[data-flag="legacy-banner"] .reason'), 'Expired');
  await page.fill('#stale-days', '7');
  await page.dispatchEvent('#stale-days', 'change');
  await page.waitForFunction(() => document.querySelector('#stale-summary')?.textContent.includes('last 7 days'));
  assert.equal(await page.textContent('#stale-summary'), '1 stale flag(s) over the last 7 days.');
  await page.click('#stale-table a');
  await page.waitForSelector('#usage-card');
  await t.check();
  await t.close();
});
