// Browser tests of approvals, with the real server: in an environment
// whose policy asks for one approval, the toggle opens a change request
// (the author sees no Approve button), another editor approves it in their
// own session, and it is applied; with a request still pending, the kill
// button kills at once and the audit labels it break-glass; saving targeting
// opens a request instead of writing; an admin sets the policy on the flag page.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { CHROMIUM, LAUNCH_ARGS, apiClient, openPage, startServer, uiLogin } from './support.mjs';

const ADMIN_PASSWORD = 'admin-password-for-tests';
const BOB_PASSWORD = 'bob-password-for-tests';
const ENV = '/api/v1/projects/shop/environments/production';

let server;
let browser;
let api;

before(async () => {
  server = await startServer({ SWITCHYARD_ADMIN_PASSWORD: ADMIN_PASSWORD });
  api = apiClient(server.url);
  api.token = await api.login('admin', ADMIN_PASSWORD);
  await api.call('POST', '/api/v1/projects', { key: 'shop', name: 'Shop' });
  await api.call('POST', '/api/v1/projects/shop/environments', { key: 'production' });
  await api.call('POST', '/api/v1/projects/shop/flags', { key: 'new-checkout', kind: 'boolean' });
  await api.call('POST', '/api/v1/users', { username: 'bob', password: BOB_PASSWORD, role: 'editor' });
  await api.call('PUT', `${ENV}/approval-policy`, { approvals: 1, approver_role: 'editor' });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const FLAG_PAGE = () => `${server.url}/#/projects/shop/flags/new-checkout?env=production`;

test('a change request is opened by the toggle, approved by another editor and applied', async () => {
  const author = await openPage(browser);
  await uiLogin(author.page, server.url, 'admin', ADMIN_PASSWORD);
  await author.page.goto(FLAG_PAGE());
  await author.page.waitForSelector('#change-requests-card[data-state="none"]');
  await author.page.click('#toggle');
  const request = '#change-requests li[data-state="open"]';
  await author.page.waitForSelector(request);
  assert.equal(await author.page.locator(`${request} button[data-action="approve"]`).count(), 0, 'no approving one’s own');
  assert.match(await author.page.textContent(`${request} tr[data-field="on"]`), /false.*true/s);
  assert.equal((await api.call('GET', `${ENV}/flags/new-checkout`)).config.on, false, 'nothing written yet');

  const approver = await openPage(browser);
  await uiLogin(approver.page, server.url, 'bob', BOB_PASSWORD);
  await approver.page.goto(FLAG_PAGE());
  await approver.page.click(`${request} button[data-action="approve"]`);
  await approver.page.waitForSelector('#change-requests li[data-state="open"][data-approvals="1"]');
  await approver.page.click('#change-requests li[data-state="open"] button[data-action="apply"]');
  await approver.page.waitForSelector('#change-requests li[data-state="applied"]');
  assert.equal((await api.call('GET', `${ENV}/flags/new-checkout`)).config.on, true);
  const audit = await api.call('GET', '/api/v1/projects/shop/audit?flag=new-checkout');
  const write = audit.items.find((e) => e.action === 'flag.toggle');
  assert.equal(write.actor, 'bob');
  assert.deepEqual(write.after.change_request.approvers, ['bob']);
  await author.check();
  await approver.check();
  await author.close();
  await approver.close();
});

test('a kill goes through at once while a change request is pending, labelled break-glass', async () => {
  await api.call('POST', `${ENV}/flags/new-checkout/change-requests`, { change: { on: false }, reason: 'pending' });
  const t = await openPage(browser);
  const { page } = t;
  await uiLogin(page, server.url, 'admin', ADMIN_PASSWORD);
  await page.goto(FLAG_PAGE());
  await page.waitForSelector('#change-requests li[data-state="open"]');
  await page.click('#kill-button');
  await page.fill('#kill-reason', 'checkout errors');
  await page.click('#dialog-confirm');
  await page.locator('.receipt-main').waitFor();
  await page.keyboard.press('Escape');
  await page.waitForSelector('#kill-banner');
  const config = await api.call('GET', `${ENV}/flags/new-checkout`);
  assert.ok(config.config.kill, 'killed');
  const audit = await api.call('GET', '/api/v1/projects/shop/audit?flag=new-checkout');
  const kill = audit.items.find((e) => e.action === 'flag.kill');
  assert.equal(kill.after.break_glass, true);
  assert.equal((await api.call('GET', `${ENV}/change-requests`)).filter((r) => r.state === 'open').length, 1, 'still pending');
  await t.check();
  await t.close();
});

test('saving targeting with approvals on opens a change request instead of writing', async () => {
  await api.call('PUT', `${ENV}/approval-policy`, { approvals: 1, approver_role: 'editor' });
  const before = await api.call('GET', `${ENV}/flags/new-checkout`);
  const t = await openPage(browser);
  const { page } = t;
  await uiLogin(page, server.url, 'admin', ADMIN_PASSWORD);
  await page.goto(FLAG_PAGE());
  await page.waitForSelector('#change-requests-card');
  await page.click('button[data-action="add-rule"]');
  await page.fill('input[data-path="rules[0].clauses[0].attribute"]', 'country');
  await page.selectOption('select[data-path="rules[0].clauses[0].op"]', 'in');
  await page.fill('textarea[data-path="rules[0].clauses[0].values"]', 'se');
  await page.fill('#targeting-reason', 'Sweden first');
  await page.click('#save-targeting');
  const request = page.locator('#change-requests li[data-state="open"]', { has: page.locator('tr[data-field="rules"]') });
  await request.waitFor();
  assert.match(await request.textContent(), /by admin: Sweden first/);
  const after = await api.call('GET', `${ENV}/flags/new-checkout`);
  assert.equal(after.version, before.version, 'nothing written before approval');
  const open = (await api.call('GET', `${ENV}/change-requests`)).find((r) => r.diff.some((d) => d.field === 'rules'));
  assert.equal(open.change.rules[0].clauses[0].attribute, 'country');
  await t.check();
  await t.close();
});

test('an admin sets the approval policy on the flag page', async () => {
  const t = await openPage(browser);
  const { page } = t;
  await uiLogin(page, server.url, 'admin', ADMIN_PASSWORD);
  await page.goto(FLAG_PAGE());
  await page.click('#policy-details summary');
  await page.fill('#policy-approvals', '2');
  await page.selectOption('#policy-role', 'admin');
  await page.click('#policy-save');
  await page.waitForSelector('#policy-details summary:has-text("2 approval(s) needed")');
  assert.deepEqual(await api.call('GET', `${ENV}/approval-policy`), { approvals: 2, approver_role: 'admin' });
  assert.match(await page.textContent('#approval-policy'), /2 approval\(s\) by an admin/);
  await t.check();
  await t.close();
});

test('applying a request whose approver was revoked since says which approval no longer counts', async () => {
  await api.call('PUT', `${ENV}/approval-policy`, { approvals: 1, approver_role: 'editor' });
  await api.call('POST', '/api/v1/projects/shop/flags', { key: 'revoked-review', kind: 'boolean' });
  const made = await api.call('POST', '/api/v1/tokens', { name: 'rita', role: 'editor' });
  const rita = apiClient(server.url);
  rita.token = made.secret;
  const request = await api.call('POST', `${ENV}/flags/revoked-review/change-requests`, { change: { on: true }, reason: 'launch' });
  await rita.call('POST', `${ENV}/change-requests/${request.id}/approve`, {});
  await api.call('DELETE', `/api/v1/tokens/${made.token.id}`);

  // The refused apply (409) is this test's point.
  const t = await openPage(browser, { allow: [/409/] });
  const { page } = t;
  await uiLogin(page, server.url, 'admin', ADMIN_PASSWORD);
  await page.goto(`${server.url}/#/projects/shop/flags/revoked-review?env=production`);
  const open = `#change-requests li[data-id="${request.id}"][data-state="open"]`;
  await page.click(`${open} button[data-action="apply"]`);
  const notice = page.locator('#notices .notice', { hasText: 'no longer counts' });
  await notice.waitFor();
  assert.match(await notice.textContent(), /`rita`.*was revoked/);
  await page.waitForSelector(open);
  assert.equal((await api.call('GET', `${ENV}/flags/revoked-review`)).config.on, false, 'nothing written');
  await t.check();
  await t.close();
});
