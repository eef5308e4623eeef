// Browser tests of per-project roles (issue 19 §5), with the real server:
// the global admin makes pat (a global viewer) admin of shop on the
// project's Settings page; pat, in their own session, is admin in shop
// (Settings, New flag) and a viewer in other (neither); pat makes vic (a
// viewer member of shop) an editor there, cannot widen their own
// membership nor step down as the last admin (but can once vic is one), and the
// server refuses pat anything in other.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { CHROMIUM, LAUNCH_ARGS, apiClient, openPage, startServer, uiLogin } from './support.mjs';

const ADMIN_PASSWORD = 'admin-password-for-tests';
const PASSWORD = 'a-long-password-for-tests';

let server;
let browser;
let api;

before(async () => {
  server = await startServer({ SWITCHYARD_ADMIN_PASSWORD: ADMIN_PASSWORD });
  api = apiClient(server.url);
  api.token = await api.login('admin', ADMIN_PASSWORD);
  for (const key of ['shop', 'other']) {
    await api.call('POST', '/api/v1/projects', { key, environments: ['production'] });
    await api.call('POST', `/api/v1/projects/${key}/flags`, { key: 'checkout', kind: 'boolean' });
  }
  for (const username of ['pat', 'vic']) await api.call('POST', '/api/v1/users', { username, password: PASSWORD, role: 'viewer' });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('an admin gives pat admin of one project; pat manages its members there and is a viewer elsewhere', async () => {
  const admin = await openPage(browser);
  await uiLogin(admin.page, server.url, 'admin', ADMIN_PASSWORD);
  await admin.page.goto(`${server.url}/#/projects/shop/settings`);
  await admin.page.waitForSelector('#members-empty');
  await admin.page.fill('#member-user', 'pat');
  await admin.page.selectOption('#member-role', 'admin');
  await admin.page.click('#member-form button[type=submit]');
  await admin.page.waitForSelector('#members-table tr[data-user="pat"][data-role="admin"]');
  assert.deepEqual((await api.call('GET', '/api/v1/projects/shop/members')).map((m) => [m.username, m.role, m.global_role]), [['pat', 'admin', 'viewer']]);
  await admin.check();
  await admin.close();
  // vic is a member of shop (a global admin adds users; a project admin names only its projects' members)
  await api.call('PUT', '/api/v1/projects/shop/members/vic', { role: 'viewer' });

  // pat (allowing the 403 the refused self-change provokes)
  const t = await openPage(browser, { allow: [/status of 403/] });
  const { page } = t;
  await uiLogin(page, server.url, 'pat', PASSWORD);
  await page.goto(`${server.url}/#/projects/shop/flags`);
  await page.waitForSelector('#new-flag');
  assert.equal(await page.textContent('#who-role'), 'admin');
  assert.equal(await page.locator('a.nav-link', { hasText: 'Admin' }).count(), 0, 'no global admin page');
  await page.click('a.nav-link[href="#/projects/shop/settings"]');
  await page.waitForSelector('#members-table tr[data-user="pat"]');
  assert.equal(await page.locator('#members-table tr[data-user="pat"] button[data-action="remove"]').isDisabled(), true, 'the last admin cannot step down');

  // pat makes vic an editor of shop
  await page.fill('#member-user', 'vic');
  await page.selectOption('#member-role', 'editor');
  await page.click('#member-form button[type=submit]');
  await page.waitForSelector('#members-table tr[data-user="vic"][data-role="editor"]');
  const audit = await api.call('GET', '/api/v1/projects/shop/audit');
  const set = audit.items.find((e) => e.action === 'member.set' && e.actor === 'pat');
  assert.equal(set.after.username, 'vic');

  // pat mints a token of shop in the project's settings (roles up to its own there)
  await page.fill('#ptok-name', 'deploy');
  await page.selectOption('#ptok-role', 'editor');
  await page.click('#ptok-form button[type=submit]');
  await page.waitForSelector('#ptokens-table tr[data-token="deploy"][data-role="editor"][data-revoked="no"]');
  assert.match(await page.inputValue('#ptokens-secret input.secret-value'), /^sya_/);
  const tokens = await api.call('GET', '/api/v1/projects/shop/tokens');
  assert.deepEqual(tokens.map((t) => [t.name, t.project, t.role, t.created_by]), [['deploy', 'shop', 'editor', 'pat']]);

  // pat cannot widen its own membership: the server says no, nothing changes
  await page.fill('#member-user', 'pat');
  await page.selectOption('#member-role', 'viewer');
  await page.click('#member-form button[type=submit]');
  await page.waitForFunction(() => /Not allowed/.test(document.getElementById('members-status').textContent));
  assert.equal(await page.getAttribute('#members-table tr[data-user="pat"]', 'data-role'), 'admin');

  // with another admin member (vic, made admin by the global admin), pat may step down
  await api.call('PUT', '/api/v1/projects/shop/members/vic', { role: 'admin' });
  await page.reload();
  await page.waitForSelector('#members-table tr[data-user="vic"][data-role="admin"]');
  assert.equal(await page.locator('#members-table tr[data-user="pat"] button[data-action="remove"]').isDisabled(), false);
  await page.click('#members-table tr[data-user="pat"] button[data-action="remove"]');
    for (let i = 0; i < 100; i++) {
    const members = await api.call('GET', '/api/v1/projects/shop/members');
    if (!members.some((m) => m.username === 'pat')) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.deepEqual((await api.call('GET', '/api/v1/projects/shop/members')).map((m) => [m.username, m.role]), [['vic', 'admin']]);
  const steppedDown = (await api.call('GET', '/api/v1/projects/shop/audit')).items.find((e) => e.action === 'member.remove');
  assert.equal(steppedDown.actor, 'pat');
  await api.call('PUT', '/api/v1/projects/shop/members/pat', { role: 'admin' });

  // in other, pat is a viewer: no Settings, no New flag, and the API refuses
  await page.goto(`${server.url}/#/projects/other/flags`);
  await page.waitForSelector('#flag-table [data-key="checkout"]');
  assert.equal(await page.textContent('#who-role'), 'viewer');
  for (const sel of ['#new-flag', 'a.nav-link[href="#/projects/other/settings"]']) assert.equal(await page.locator(sel).count(), 0, sel);
  const token = await api.login('pat', PASSWORD);
  await assert.rejects(api.call('PUT', '/api/v1/projects/other/members/vic', { role: 'admin' }, token), /403/);
  await page.goto(`${server.url}/#/projects/other/settings`);
  await page.waitForSelector('text=Only admins of this project can change its settings.');

  // removed by the admin while the page is open: back in shop, pat is a viewer there too
  await api.call('DELETE', '/api/v1/projects/shop/members/pat');
  await page.goto(`${server.url}/#/projects/shop/flags`);
  await page.waitForSelector('#flag-table [data-key="checkout"]');
  assert.equal(await page.textContent('#who-role'), 'viewer');
  assert.equal(await page.locator('#new-flag').count(), 0);
  await t.check();
  await t.close();
});
