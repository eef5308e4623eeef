// Browser tests of environment colours and order (issue 19 §6), with the
// real server: a project created in the UI gets development, staging and
// production in one request; the production banner is striped and red,
// another environment's is its own colour; the settings page recolours an
// environment and moves production first, and the switcher follows.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { CHROMIUM, LAUNCH_ARGS, apiClient, openPage, startServer, uiLogin } from './support.mjs';

const ADMIN_PASSWORD = 'admin-password-for-tests';

let server;
let browser;
let api;

before(async () => {
  server = await startServer({ SWITCHYARD_ADMIN_PASSWORD: ADMIN_PASSWORD });
  api = apiClient(server.url);
  api.token = await api.login('admin', ADMIN_PASSWORD);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const banner = (page) => page.evaluate(() => {
  const b = document.getElementById('env-banner');
  return { hidden: b.hidden, env: b.dataset.env, production: b.dataset.production, background: getComputedStyle(b).backgroundColor, text: b.textContent };
});

test('a new project gets its environments; production is unmistakable; settings recolour and reorder', async () => {
  const t = await openPage(browser);
  const { page } = t;
  await uiLogin(page, server.url, 'admin', ADMIN_PASSWORD);
  await page.goto(`${server.url}/#/projects`);
  await page.fill('#proj-key', 'shop');
  await page.click('form.card button[type=submit]');
  await page.waitForSelector('#env-select');
  const envs = await api.call('GET', '/api/v1/projects/shop/environments');
  assert.deepEqual(envs.map((e) => [e.key, e.color]), [['development', '#2e7d32'], ['staging', '#ef6c00'], ['production', '#c62828']]);
  const audit = await api.call('GET', '/api/v1/projects/shop/audit');
  assert.equal(audit.items.filter((e) => e.action === 'environment.create').length, 3);

  // production: the loud banner in red; development: a thin band in green
  await page.selectOption('#env-select', 'production');
  await page.waitForSelector('#env-banner[data-env="production"]');
  let b = await banner(page);
  assert.equal(b.production, 'true');
  assert.equal(b.background, 'rgb(198, 40, 40)');
  assert.match(b.text, /Production: production\. Changes here reach real users/);
  await page.selectOption('#env-select', 'development');
  await page.waitForSelector('#env-banner[data-env="development"]');
  b = await banner(page);
  assert.equal(b.production, 'false');
  assert.equal(b.background, 'rgb(46, 125, 50)');

  // settings: staging recoloured, production moved to the top
  await page.click('a.nav-link[href="#/projects/shop/settings"]');
  await page.waitForSelector('#env-table tr[data-env="staging"]');
  await page.locator('#env-table tr[data-env="staging"] input[type="color"]').evaluate((el) => {
    el.value = '#123456';
    el.dispatchEvent(new Event('change', { bubbles: true }));
  });
  await page.waitForSelector('#env-table tr[data-env="staging"][data-color="#123456"]');
  await page.click('#env-table tr[data-env="production"] button[data-action="up"]');
  await page.waitForSelector('#env-table tbody tr:nth-child(2)[data-env="production"]');
  await page.click('#env-table tr[data-env="production"] button[data-action="up"]');
  await page.waitForSelector('#env-table tbody tr:first-child[data-env="production"]');
  const after = await api.call('GET', '/api/v1/projects/shop/environments');
  assert.deepEqual(after.map((e) => e.key), ['production', 'development', 'staging']);
  assert.equal(after[2].color, '#123456');
  const options = await page.$$eval('#env-select option', (os) => os.map((o) => o.value));
  assert.deepEqual(options, ['production', 'development', 'staging'], 'the switcher follows the order');
  const updates = (await api.call('GET', '/api/v1/projects/shop/audit')).items.filter((e) => e.action === 'environment.update');
  assert.ok(updates.length >= 3, 'each change audited');

  // a custom production colour is kept, still with the production banner
  await page.selectOption('#env-select', 'staging');
  await page.waitForSelector('#env-banner[data-env="staging"]');
  assert.equal((await banner(page)).background, 'rgb(18, 52, 86)');
  await page.setViewportSize({ width: 390, height: 844 });
  await page.selectOption('#env-select', 'production');
  await page.waitForSelector('#env-banner[data-production="true"]');
  await t.check();
  await t.close();
});
