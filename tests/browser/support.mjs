// Shared pieces of the browser tests: the real server binary on a free
// loopback port with a fresh SQLite database, the admin API, and pages with
// guards (console errors, page errors, requests to other hosts and CSP
// violations are collected; check() asserts there were none).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const BIN = path.resolve(here, process.env.SWITCHYARD_BIN || '../../target/debug/switchyard');
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const LAUNCH_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

export function freePort() {
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

/** Starts the server; resolves { child, url, log, stop() } once /healthz answers. */
export async function startServer(env = {}) {
  if (!fs.existsSync(BIN)) throw new Error(`server binary not found at ${BIN}: run \`cargo build -p switchyard-server\` first or set SWITCHYARD_BIN`);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-ui-'));
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const log = [];
    const child = spawn(BIN, [], {
      env: {
        ...process.env,
        SWITCHYARD_LISTEN: `127.0.0.1:${port}`,
        SWITCHYARD_DATA_DIR: path.join(dataDir, `db-${attempt}`),
        SWITCHYARD_LOG_FORMAT: 'json',
        RUST_LOG: process.env.RUST_LOG || 'warn',
        ...env,
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
        if (res.ok) return { child, url, log, stop: () => stopChild(child).then(() => fs.rmSync(dataDir, { recursive: true, force: true })) };
      } catch {
        // not up yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill('SIGKILL');
    if (!exited && Date.now() >= deadline) throw new Error(`server did not become healthy:\n${log.join('')}`);
    if (attempt === 4) throw new Error(`server failed to start:\n${log.join('')}`);
  }
  throw new Error('unreachable');
}

/** SIGTERM, then SIGKILL after 5 s. */
export function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => {
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      r();
    }, 5000);
    child.on('exit', () => {
      clearTimeout(t);
      r();
    });
    child.kill('SIGTERM');
  });
}

/** The admin API of the server at `base`: call(method, path, body, token). */
export function apiClient(base) {
  const client = {
    token: null,
    async call(method, p, body, token = client.token) {
      const res = await fetch(base + p, {
        method,
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      const data = text ? JSON.parse(text) : null;
      if (!res.ok) throw new Error(`${method} ${p} → ${res.status}: ${text}`);
      return data;
    },
    async login(username, password) {
      return (await client.call('POST', '/api/v1/auth/login', { username, password }, null)).token;
    },
  };
  return client;
}

/**
 * A new browser context and page with guards. `allow`: regexes of console
 * errors a test provokes on purpose. CSP violations are recorded from the
 * first document on (window.__violations) and fail check().
 */
export async function openPage(browser, { width = 1280, height = 900, allow = [] } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, serviceWorkers: 'block' });
  const page = await context.newPage();
  const problems = [];
  await page.addInitScript(() => {
    window.__violations = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
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
    async check() {
      const violations = await page.evaluate(() => window.__violations || []).catch(() => []);
      assert.deepEqual([...problems, ...violations.map((v) => `CSP violation: ${v}`)], [], problems.join('\n'));
    },
    async close() {
      await context.close();
    },
  };
}

export async function uiLogin(page, base, username, password) {
  await page.goto(`${base}/#/login`);
  await page.fill('#login-username', username);
  await page.fill('#login-password', password);
  await page.click('.login-form button[type=submit]');
  await page.waitForSelector('#logout');
}
