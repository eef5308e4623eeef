// Browser tests of the incident pages, on the real server binary: an
// Alertmanager notification fires a trigger for INC-42 (with the alert's
// start), a responder restores for INC-42 waiting for the receipt, and a
// drill runs in staging. A viewer follows the incident link of an audit
// entry to the timeline (every event in order, the times), changes the
// look-back window, and finds both incidents in the list; at 390 px too.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { CHROMIUM, LAUNCH_ARGS, apiClient, openPage, startServer, uiLogin } from './support.mjs';

const ADMIN_PASSWORD = 'admin-password-for-tests';
const PASSWORD = 'a-long-test-password';
const P = '/api/v1/projects/shop';

let server;
let browser;
let api;
let timeline;

before(async () => {
  server = await startServer({ SWITCHYARD_ADMIN_PASSWORD: ADMIN_PASSWORD });
  api = apiClient(server.url);
  api.token = await api.login('admin', ADMIN_PASSWORD);
  await api.call('POST', '/api/v1/projects', { key: 'shop', name: 'Shop' });
  for (const key of ['production', 'staging']) await api.call('POST', `${P}/environments`, { key });
  await api.call('POST', '/api/v1/users', { username: 'vera', password: PASSWORD, role: 'viewer' });
  await api.call('POST', `${P}/flags`, { key: 'checkout', kind: 'boolean' });
  await api.call('POST', `${P}/flags`, { key: 'search', kind: 'boolean' });
  await api.call('POST', `${P}/environments/production/flags/search/toggle`, { on: true, reason: 'new search' });
  const trigger = await api.call('POST', `${P}/environments/production/flags/checkout/triggers`, { name: 'checkout-errors', action: 'kill' });
  const startsAt = new Date(Date.now() - 90_000).toISOString();
  const res = await fetch(`${server.url}${trigger.path}?wait=5s`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ version: '4', status: 'firing', commonLabels: { alertname: 'CheckoutErrors', incident: 'INC-42' },
      commonAnnotations: { summary: '5xx above 5%' }, alerts: [{ status: 'firing', startsAt, labels: {}, annotations: {} }] }),
  });
  assert.equal(res.status, 200, await res.text());
  await api.call('DELETE', `${P}/environments/production/flags/checkout/kill?wait=5s`, { reason: 'errors back to normal', incident: 'INC-42' });
  await api.call('POST', `${P}/environments/staging/flags/checkout/drill?wait=5s`, { incident: 'DRILL-1' });
  timeline = await api.call('GET', `${P}/incidents/INC-42`);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** The page's duration format (views/incident.js). */
function duration(ms) {
  const s = ms / 1000;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(Math.floor(s % 60)).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

const kinds = (page) => page.$$eval('#incident-timeline > li', (items) => items.map((li) => li.dataset.kind));

test('an audit entry links to its incident, whose timeline reads in order with its times', async () => {
  const { page, check, close } = await openPage(browser);
  await uiLogin(page, server.url, 'vera', PASSWORD);
  await page.goto(`${server.url}/#/projects/shop/audit`);
  // The trigger's kill (the drill's, newer, is listed first).
  await page.click('.audit-item[data-action="flag.kill"] a.incident-link[href$="/INC-42"]');
  await page.waitForSelector('#incident-timeline > li');
  assert.match(page.url(), /#\/projects\/shop\/incidents\/INC-42$/);
  assert.equal(await page.textContent('h1'), 'Incident INC-42');

  const shown = await kinds(page);
  assert.deepEqual(shown, timeline.events.map((e) => e.kind), 'the API order');
  assert.deepEqual(shown.filter((k) => k !== 'change'), ['alert', 'trigger', 'applied', 'restore', 'applied']);
  assert.ok(shown.includes('change'), 'the toggle of search before the incident');
  const applied = await page.$$eval('#incident-timeline > li[data-kind="applied"] .incident-detail', (ps) => ps.map((p) => p.textContent));
  assert.match(applied[0], /^Kill applied by 0\/0 connected SDK instance\(s\)/);
  assert.match(applied[1], /^Restore applied by 0\/0/);
  assert.match(await page.textContent('#incident-started'), /by Alert started/);
  // No SDK was connected: the fleet had the kill when it was written, ~90 s after the alert started.
  assert.ok(timeline.times.time_to_mitigate_ms >= 90_000, JSON.stringify(timeline.times));
  assert.ok((await page.textContent('#incident-mitigate')).includes(duration(timeline.times.time_to_mitigate_ms)));
  assert.match(await page.textContent('#incident-mitigate'), /fleet applied the first kill: 0\/0 SDKs/);
  assert.match(await page.textContent('#incident-restore'), /fleet applied it at \+/);

  // Another look-back asks the server again (the changes are seconds old: still shown).
  const asked = page.waitForRequest((r) => r.url().includes('/incidents/INC-42?before_minutes=15'));
  await page.selectOption('#incident-before', '15');
  await asked;
  await page.waitForSelector('#incident-timeline > li[data-kind="change"]');
  await check();
  await close();
});

test('the incident list names both incidents and opens one; an unknown id says so', async () => {
  const { page, check, close } = await openPage(browser, { allow: [/404/] });
  await uiLogin(page, server.url, 'vera', PASSWORD);
  await page.click('nav a[href="#/projects/shop/incidents"]');
  await page.waitForSelector('#incidents-table');
  const ids = await page.$$eval('#incidents-table tbody tr', (rows) => rows.map((r) => r.dataset.incident));
  assert.deepEqual(ids, ['DRILL-1', 'INC-42'], 'most recent first');
  await page.click('#incidents-table a[href$="/DRILL-1"]');
  await page.waitForSelector('#incident-timeline > li');
  assert.deepEqual((await kinds(page)).filter((k) => k !== 'change'), ['kill', 'applied', 'restore', 'applied']);
  await page.goto(`${server.url}/#/projects/shop/incidents/INC-404`);
  await page.waitForSelector('#incident-error');
  assert.match(await page.textContent('#incident-error'), /INC-404/);
  await check();
  await close();
});

test('the timeline fits a 390 px wide screen', async () => {
  const { page, check, close } = await openPage(browser, { width: 390, height: 844 });
  await uiLogin(page, server.url, 'vera', PASSWORD);
  await page.goto(`${server.url}/#/projects/shop/incidents/INC-42`);
  await page.waitForSelector('#incident-timeline > li');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `horizontal overflow of ${overflow} px`);
  await check();
  await close();
});
