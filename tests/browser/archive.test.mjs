// Browser tests of a flag's lifecycle on its page (issue 19 part 4), with
// the real server: the Archive dialog first shows the dry run (per
// environment: last evaluated, connected, evaluating, needed by) and
// archives only with a reason; the archived flag's page says so and leaves
// the flag list for the archive; Restore from archive brings it back; a
// flag other flags need is not archived (the dialog names them and offers
// no confirm); Delete removes an archived flag. The dialog lists the pending
// scheduled change archiving cancels. An environment is archived
// from the project settings after its in-use check, restored and deleted.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { CHROMIUM, LAUNCH_ARGS, apiClient, openPage, startServer, uiLogin } from './support.mjs';

const ADMIN_PASSWORD = 'admin-password-for-tests';
const P = '/api/v1/projects/shop';

let server;
let browser;
let api;

before(async () => {
  server = await startServer({ SWITCHYARD_ADMIN_PASSWORD: ADMIN_PASSWORD });
  api = apiClient(server.url);
  api.token = await api.login('admin', ADMIN_PASSWORD);
  await api.call('POST', '/api/v1/projects', { key: 'shop', name: 'Shop' });
  await api.call('POST', `${P}/environments`, { key: 'production' });
  for (const key of ['holiday-banner', 'checkout', 'upsell']) await api.call('POST', `${P}/flags`, { key, kind: 'boolean' });
  await api.call('PUT', `${P}/environments/production/flags/upsell`, { version: 1, on: true, off_variant: 'off',
    fallthrough: { variant: 'on' }, prerequisites: [{ flag: 'checkout', variant: 'on' }] });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const listed = async (page) => page.$$eval('#flag-table .fg-body .fg-row', (rows) => rows.map((r) => r.dataset.key));

test('archive shows the dry run, needs a reason, hides the flag; restore from archive brings it back', async () => {
  const t = await openPage(browser);
  const { page } = t;
  await uiLogin(page, server.url, 'admin', ADMIN_PASSWORD);
  // A pending scheduled change, which archiving cancels (the dialog says so).
  const at = new Date(Date.now() + 3600_000).toISOString();
  const scheduled = await api.call('POST', `${P}/environments/production/flags/holiday-banner/schedule`, { at, change: { on: true } });
  // And an open change request in an environment with approvals, which archiving cancels too.
  await api.call('POST', `${P}/environments`, { key: 'gated' });
  await api.call('PUT', `${P}/environments/gated/approval-policy`, { approvals: 1 });
  const request = await api.call('POST', `${P}/environments/gated/flags/holiday-banner/change-requests`, { change: { on: true }, reason: 'later' });
  await page.goto(`${server.url}/#/projects/shop/flags/holiday-banner?env=production`);
  await page.click('#archive-button');

  // The dry run: one row per environment; nothing archived yet.
  const row = page.locator('#archive-usage tr[data-env="production"]');
  await row.waitFor();
  assert.match(await row.locator('.last').textContent(), /never/);
  assert.equal(await row.locator('.connected').textContent(), '0');
  assert.match(await page.textContent('#archive-summary'), /No connected SDK instance/);
  assert.match(await page.textContent('#archive-stops'), new RegExp(`scheduled change #${scheduled.id} in .*cancelled`));
  assert.match(await page.textContent('#archive-stops'), new RegExp(`change request #${request.id} in .*cancelled`));
  assert.equal((await api.call('GET', `${P}/flags/holiday-banner`)).archived_at, undefined);

  // A reason is required; then archived.
  await page.click('#archive-confirm');
  await page.waitForSelector('.archive-dialog .field-error:not([hidden])');
  await page.fill('#archive-reason', 'the holidays are over');
  await page.click('#archive-confirm');
  await page.waitForSelector('#archived-banner');
  assert.equal(await page.locator('#archive-button').count(), 0);
  const def = await api.call('GET', `${P}/flags/holiday-banner`);
  assert.ok(def.archived_at, 'archived');
  assert.equal((await api.call('GET', `${P}/environments/gated/change-requests/${request.id}`)).state, 'cancelled');
  const audit = await api.call('GET', `${P}/audit?flag=holiday-banner`);
  assert.equal(audit.items[0].action, 'flag.archive');
  assert.equal(audit.items[0].reason, 'the holidays are over');
  assert.equal((await api.call('GET', `${P}/environments/production/scheduled/${scheduled.id}`)).state, 'cancelled');

  // Out of the flag list, in the archive.
  await page.goto(`${server.url}/#/projects/shop/flags`);
  await page.waitForSelector('#flag-table[data-rendered]');
  assert.deepEqual(await listed(page), ['checkout', 'upsell']);
  await page.click('#archived-flags-link');
  await page.waitForSelector('#flag-table .fg-row[data-key="holiday-banner"]');
  assert.deepEqual(await listed(page), ['holiday-banner']);
  assert.equal(await page.locator('#panic-button').count(), 0, 'no panic button in the archive');

  // Restore from archive: back in the list, editable.
  await page.click('#flag-table .fg-row[data-key="holiday-banner"] a');
  await page.click('#unarchive-button');
  await page.fill('.dialog textarea[name="reason"]', 'one more week');
  await page.click('.dialog-footer button:has-text("Restore")');
  await page.waitForSelector('#archive-button');
  assert.equal(await page.locator('#archived-banner').count(), 0);
  assert.equal((await api.call('GET', `${P}/flags/holiday-banner`)).archived_at, undefined);
  await page.goto(`${server.url}/#/projects/shop/flags`);
  await page.waitForSelector('#flag-table .fg-row[data-key="holiday-banner"]');
  await t.check();
  await t.close();
});

test('a prerequisite of another flag is not archived; an archived flag is deleted with a reason', async () => {
  const t = await openPage(browser);
  const { page } = t;
  await uiLogin(page, server.url, 'admin', ADMIN_PASSWORD);
  await page.goto(`${server.url}/#/projects/shop/flags/checkout?env=production`);
  await page.click('#archive-button');
  await page.waitForSelector('#archive-blocked');
  assert.match(await page.textContent('#archive-blocked'), /upsell/);
  assert.equal(await page.locator('#archive-confirm').count(), 0);
  await page.click('.dialog-footer button:has-text("Cancel")');

  await api.call('POST', `${P}/flags/holiday-banner/archive`, { confirm: true, reason: 'done' });
  await page.goto(`${server.url}/#/projects/shop/flags/holiday-banner?env=production`);
  await page.click('#delete-flag-button');
  await page.fill('.dialog textarea[name="reason"]', 'cleanup');
  await page.click('.dialog-footer button:has-text("Delete flag")');
  await page.waitForFunction(() => location.hash.endsWith('/flags?archived=true'));
  await page.waitForSelector('#flag-table[data-rendered]');
  assert.deepEqual(await listed(page), []);
  const flags = await api.call('GET', `${P}/flags?archived=true`);
  assert.deepEqual(flags.items, []);
  await t.check();
  await t.close();
});

test('an environment is archived from the settings after its in-use check, restored, then deleted', async () => {
  await api.call('POST', `${P}/environments`, { key: 'qa' });
  const t = await openPage(browser);
  const { page } = t;
  await uiLogin(page, server.url, 'admin', ADMIN_PASSWORD);
  await page.goto(`${server.url}/#/projects/shop/settings`);
  await page.click('#env-table tr[data-env="qa"] button[data-action="archive"]');
  await page.waitForSelector('#env-archive-usage');
  assert.match(await page.textContent('#env-archive-usage'), /Not in use/);
  await page.fill('#env-archive-reason', 'no longer used');
  await page.click('#env-archive-confirm');
  await page.waitForSelector('#archived-envs li[data-env="qa"]');
  assert.equal(await page.locator('#env-table tr[data-env="qa"]').count(), 0);
  const archived = await api.call('GET', `${P}/environments?archived=true`);
  assert.deepEqual(archived.map((e) => e.key), ['qa']);

  await page.click('#archived-envs li[data-env="qa"] button[data-action="unarchive"]');
  await page.fill('.dialog textarea[name="reason"]', 'needed after all');
  await page.click('.dialog-footer button:has-text("Restore")');
  await page.waitForSelector('#env-table tr[data-env="qa"]');
  assert.equal(await page.locator('#archived-envs li').count(), 0);

  await api.call('POST', `${P}/environments/qa/archive`, { confirm: true, reason: 'gone' });
  await page.reload();
  await page.click('#archived-envs li[data-env="qa"] button[data-action="delete"]');
  await page.fill('.dialog textarea[name="reason"]', 'cleanup');
  await page.click('.dialog-footer button:has-text("Delete environment")');
  await page.waitForFunction(() => !document.querySelector('#archived-envs li'));
  const all = await api.call('GET', `${P}/environments?archived=true`);
  assert.deepEqual(all, []);
  await t.check();
  await t.close();
});
