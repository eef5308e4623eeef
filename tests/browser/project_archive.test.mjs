// Browser tests of a project's lifecycle (issue 19 part 4), with the real
// server: the global admin archives a project from its Settings page — the
// dialog shows the in-use check first (its SDK key was used), refuses to
// archive without "anyway" — then the archived project is gone from the
// project list, listed under Archived projects, restored, archived again
// and deleted there. A project admin sees no Archive control.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { CHROMIUM, LAUNCH_ARGS, apiClient, openPage, startServer, uiLogin } from './support.mjs';

const ADMIN_PASSWORD = 'admin-password-for-tests';
const PASSWORD = 'a-long-password-for-tests';
const P = '/api/v1/projects/shop';

let server;
let browser;
let api;
let sdkKey;

before(async () => {
  server = await startServer({ SWITCHYARD_ADMIN_PASSWORD: ADMIN_PASSWORD });
  api = apiClient(server.url);
  api.token = await api.login('admin', ADMIN_PASSWORD);
  for (const key of ['shop', 'keep']) await api.call('POST', '/api/v1/projects', { key, environments: ['production'] });
  await api.call('POST', `${P}/flags`, { key: 'checkout', kind: 'boolean' });
  sdkKey = (await api.call('POST', `${P}/environments/production/sdk-keys`, { name: 'web' })).secret;
  await api.call('POST', '/api/v1/users', { username: 'pat', password: PASSWORD, role: 'viewer' });
  await api.call('PUT', `${P}/members/pat`, { role: 'admin' });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** An SDK fetches its snapshot with the key; the key's use is recorded (off the request's path). */
async function useKey() {
  const res = await fetch(`${server.url}/sdk/v1/snapshot`, { headers: { authorization: `Bearer ${sdkKey}` } });
  assert.equal(res.status, 200);
  for (let i = 0; i < 100; i++) {
    const dry = await api.call('POST', `${P}/archive`, { dry_run: true });
    if (dry.in_use) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the key use was never recorded');
}

test('a project in use is archived from its settings only "anyway", then restored, archived again and deleted', async () => {
  await useKey();
  const t = await openPage(browser);
  const { page } = t;
  await uiLogin(page, server.url, 'admin', ADMIN_PASSWORD);
  await page.goto(`${server.url}/#/projects/shop/settings`);
  await page.click('#project-archive');
  await page.waitForSelector('#project-archive-usage');
  assert.equal(await page.getAttribute('#project-archive-usage', 'data-in-use'), 'true');
  assert.match(await page.textContent('#project-archive-usage'), /In use: 1 SDK key\(s\) used in the last 7 days \(web/);
  await page.fill('#project-archive-reason', 'shop closed');
  await page.click('#project-archive-confirm');
  await page.waitForSelector('#project-archive-error:not([hidden])');
  assert.match(await page.textContent('#project-archive-error'), /anyway/);
  assert.equal((await api.call('GET', '/api/v1/projects?archived=true')).length, 0, 'nothing archived yet');
  await page.check('#project-archive-force');
  await page.click('#project-archive-confirm');
  await page.waitForFunction(() => location.hash === '#/projects');
  await page.waitForSelector('#archived-projects li[data-project="shop"]');
  assert.equal(await page.locator('.project-list a', { hasText: 'shop' }).count(), 0, 'gone from the list');
  const res = await fetch(`${server.url}/sdk/v1/snapshot`, { headers: { authorization: `Bearer ${sdkKey}` } });
  assert.equal(res.status, 401, 'its SDK key stops working');
  const audit = await api.call('GET', `${P}/audit`);
  const archived = audit.items.find((e) => e.action === 'project.archive');
  assert.equal(archived.reason, 'shop closed');
  assert.equal(archived.after.forced, true);

  await page.click('#archived-projects li[data-project="shop"] button[data-action="unarchive"]');
  await page.fill('.dialog textarea[name="reason"]', 'reopened');
  await page.click('.dialog-footer button:has-text("Restore")');
  await page.waitForSelector('.project-list a:has-text("shop")');
  assert.equal(await page.locator('#archived-projects li').count(), 0);

  await api.call('POST', `${P}/archive`, { confirm: true, force: true, reason: 'for good' });
  await page.reload();
  await page.click('#archived-projects li[data-project="shop"] button[data-action="delete"]');
  await page.fill('.dialog textarea[name="reason"]', 'cleanup');
  await page.click('.dialog-footer button:has-text("Delete project")');
  await page.waitForFunction(() => !document.querySelector('#archived-projects li'));
  const all = await api.call('GET', '/api/v1/projects?archived=true');
  assert.deepEqual(all, []);
  await assert.rejects(api.call('GET', P), /404/);
  await t.check();
  await t.close();
});

test('a project admin has no Archive control', async () => {
  await api.call('POST', '/api/v1/projects', { key: 'shop', environments: ['production'] });
  await api.call('PUT', `${P}/members/pat`, { role: 'admin' });
  const t = await openPage(browser);
  const { page } = t;
  await uiLogin(page, server.url, 'pat', PASSWORD);
  await page.goto(`${server.url}/#/projects/shop/settings`);
  await page.waitForSelector('#members-card');
  assert.equal(await page.locator('#project-archive').count(), 0);
  await t.check();
  await t.close();
});
