// Browser tests of the flag page's scheduled changes card, with the real
// server (its scheduler ticking every 100 ms): a change scheduled in the
// form is listed as pending, applied by the scheduler while the page is
// open (the card and the flag's state follow it live) and shown in the
// audit page as the scheduler's write requested by the user; a pending
// change is cancelled with its button; a bad time is refused in the form.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { CHROMIUM, LAUNCH_ARGS, apiClient, openPage, startServer, uiLogin } from './support.mjs';

const ADMIN_PASSWORD = 'admin-password-for-tests';
const ENV = '/api/v1/projects/shop/environments/production';

let server;
let browser;
let api;

before(async () => {
  server = await startServer({ SWITCHYARD_ADMIN_PASSWORD: ADMIN_PASSWORD, SWITCHYARD_SCHEDULER_TICK: '100ms' });
  api = apiClient(server.url);
  api.token = await api.login('admin', ADMIN_PASSWORD);
  await api.call('POST', '/api/v1/projects', { key: 'shop', name: 'Shop' });
  await api.call('POST', '/api/v1/projects/shop/environments', { key: 'production' });
  await api.call('POST', '/api/v1/projects/shop/flags', { key: 'holiday-banner', kind: 'boolean' });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** `date` as the value of a datetime-local input (the browser's local time, seconds included). */
function localValue(date) {
  const pad = (n) => String(n).padStart(2, '0');
  // Chromium drops `:00` seconds from the value, and Playwright checks the value it set.
  const seconds = date.getSeconds() ? `:${pad(date.getSeconds())}` : '';
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}${seconds}`;
}

test('a change scheduled in the form is applied by the scheduler while the page is open', async () => {
  const t = await openPage(browser);
  const { page } = t;
  await uiLogin(page, server.url, 'admin', ADMIN_PASSWORD);
  await page.goto(`${server.url}/#/projects/shop/flags/holiday-banner?env=production`);
  await page.waitForSelector('#schedule-card[data-state="none"]');
  assert.match(await page.textContent('#schedule-card'), /Nothing scheduled for this flag here/);

  // The browser's clock is the test's: three seconds from now, in local time.
  // Three seconds from now, as the browser's local time (the page's time zone is the test's).
  await page.fill('#schedule-at', localValue(new Date(Date.now() + 3000)));
  await page.selectOption('#schedule-kind', 'on');
  await page.fill('#schedule-reason', 'holiday launch');
  await page.click('#schedule-submit');
  const item = page.locator('#schedule-list li').first();
  await page.waitForSelector('#schedule-list li[data-state="pending"]');
  assert.match(await item.textContent(), /turn targeting on/);
  assert.match(await item.textContent(), /requested by admin: holiday launch/);

  // Applied by the scheduler: the card and the flag's state follow it.
  await page.waitForSelector('#schedule-list li[data-state="applied"]', { timeout: 30000 });
  const config = await api.call('GET', `${ENV}/flags/holiday-banner`);
  assert.equal(config.config.on, true);
  const audit = await api.call('GET', '/api/v1/projects/shop/audit?flag=holiday-banner');
  const write = audit.items.find((e) => e.actor === 'scheduler');
  assert.equal(write.action, 'flag.toggle');
  assert.equal(write.after.scheduled.requested_by, 'admin');

  // The audit page names the scheduler and the requester.
  await page.goto(`${server.url}/#/projects/shop/audit`);
  const entry = page.locator(`.audit-item[data-id="${write.id}"]`);
  await entry.waitFor();
  assert.match(await entry.locator('.who').textContent(), /by scheduler \(system\) requested by admin/);
  await t.check();
  await t.close();
});

test('a pending change is cancelled with its button, and a time in the past is refused', async () => {
  const later = new Date(Date.now() + 3600 * 1000).toISOString();
  const created = await api.call('POST', `${ENV}/flags/holiday-banner/schedule`, { at: later, change: { on: false }, reason: 'after the holidays' });
  const t = await openPage(browser, { allow: [/status of 422/] });
  const { page } = t;
  await uiLogin(page, server.url, 'admin', ADMIN_PASSWORD);
  await page.goto(`${server.url}/#/projects/shop/flags/holiday-banner?env=production`);
  const item = `#schedule-list li[data-id="${created.id}"]`;
  await page.waitForSelector(`${item}[data-state="pending"]`);
  await page.click(`${item} button[data-action="cancel"]`);
  await page.fill('[role="dialog"] textarea[name="reason"]', 'holidays extended');
  await page.click('[role="dialog"] .dialog-footer .btn-primary');
  await page.waitForSelector(`${item}[data-state="cancelled"]`);
  assert.equal(await page.locator(`${item} button`).count(), 0, 'nothing to cancel any more');
  assert.equal((await api.call('GET', `${ENV}/scheduled/${created.id}`)).state, 'cancelled');

  await page.fill('#schedule-at', localValue(new Date(Date.now() - 3600 * 1000)));
  await page.selectOption('#schedule-kind', 'off');
  await page.click('#schedule-submit');
  await page.waitForSelector('#schedule-form .field-error');
  assert.match(await page.textContent('#schedule-form .field-error'), /in the past/);
  assert.equal((await api.call('GET', `${ENV}/scheduled`)).length, 2, 'nothing more was stored');
  await t.check();
  await t.close();
});

test('the form schedules the off variant, the fail-safe variant and a prerequisite', async () => {
  await api.call('POST', '/api/v1/projects/shop/flags', { key: 'gate', kind: 'boolean' });
  const t = await openPage(browser);
  const { page } = t;
  await uiLogin(page, server.url, 'admin', ADMIN_PASSWORD);
  await page.goto(`${server.url}/#/projects/shop/flags/holiday-banner?env=production`);
  await page.waitForSelector('#schedule-card:not([data-state="loading"])');
  const later = localValue(new Date(Date.now() + 3600_000));
  const schedule = async (kind, fill) => {
    await page.fill('#schedule-at', later);
    await page.selectOption('#schedule-kind', kind);
    await fill();
    const before = await page.locator('#schedule-list li[data-state="pending"]').count();
    await page.click('#schedule-submit');
    await page.waitForFunction((n) => document.querySelectorAll('#schedule-list li[data-state="pending"]').length > n, before);
  };
  await schedule('off_variant', async () => {
    assert.equal(await page.isVisible('#schedule-variant'), true);
    await page.selectOption('#schedule-variant', 'on');
  });
  await schedule('fail_safe', () => page.selectOption('#schedule-variant', 'off'));
  await schedule('prereq', async () => {
    assert.equal(await page.isVisible('#schedule-variant'), false);
    await page.fill('#schedule-prereq-flag', 'gate');
    await page.fill('#schedule-prereq-variant', 'on');
  });
  const text = await page.textContent('#schedule-list');
  assert.match(text, /serve on while off/);
  assert.match(text, /fail safe to off/);
  assert.match(text, /require gate = on/);
  const changes = (await api.call('GET', `${ENV}/scheduled`)).filter((c) => c.flag === 'holiday-banner' && c.state === 'pending');
  const sets = changes.map((c) => c.change);
  assert.ok(sets.some((c) => c.off_variant === 'on'), JSON.stringify(sets));
  assert.ok(sets.some((c) => c.fail_safe_variant === 'off'), JSON.stringify(sets));
  assert.ok(sets.some((c) => c.prerequisites?.[0]?.flag === 'gate' && c.prerequisites[0].variant === 'on'), JSON.stringify(sets));
  await t.check();
  await t.close();
});
