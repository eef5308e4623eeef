// Switchyard web UI: the shell (top bar, project and environment
// switcher, notices) and the hash router. Views live in ./views/.

import { api, get, url, session, can, isGlobalAdmin, effectiveRole, setProjectRole, setUnauthorizedHandler, describe } from './api.js';
import { h, clear, select } from './dom.js';
import { live } from './live.js';
import * as loginView from './views/login.js';
import * as flagsView from './views/flags.js';
import * as flagView from './views/flag.js';
import * as auditView from './views/audit.js';
import * as segmentsView from './views/segments.js';
import * as keysView from './views/keys.js';
import * as fleetView from './views/fleet.js';
import * as staleView from './views/stale.js';
import * as incidentView from './views/incident.js';
import * as webhooksView from './views/webhooks.js';
import * as adminView from './views/admin.js';
import * as settingsView from './views/settings.js';
import { isProduction, paint } from './envcolor.js';
import { changeOwnPassword } from './views/password.js';

const main = document.getElementById('main');
const slot = document.getElementById('topbar-slot');
const notices = document.getElementById('notices');
// Set by app.go: the next route keeps the notices (they describe what led there).
let keepNotices = false;
const alerts = document.getElementById('alerts');

/** Shared application state and services handed to every view. */
export const app = {
  projects: [],
  project: null,
  envs: [],
  env: null,
  me: null,

  /** A polite notice in the role="status" region (auto-dismissed). */
  notify(text, { kind = 'info', timeout = 8000 } = {}) {
    const icon = { info: 'ℹ', success: '✓', warning: '⚠', live: '↻' }[kind] || 'ℹ';
    const item = h('div', { class: `notice notice-${kind}` },
      h('span', { class: 'notice-icon', 'aria-hidden': 'true', text: icon }),
      h('span', { class: 'notice-text', text }),
      h('button', { type: 'button', class: 'notice-x', 'aria-label': 'Dismiss notice', text: '×', onclick: () => item.remove() }));
    notices.append(item);
    while (notices.children.length > 3) notices.firstChild.remove();
    if (timeout) setTimeout(() => item.remove(), timeout);
  },

  /** An assertive error message (role="alert"). */
  alert(text) {
    clear(alerts);
    if (!text) return;
    alerts.append(h('div', { class: 'alert' },
      h('span', { 'aria-hidden': 'true', class: 'notice-icon', text: '⚠' }),
      h('span', { text }),
      h('button', { type: 'button', class: 'notice-x', 'aria-label': 'Dismiss error', text: '×', onclick: () => clear(alerts) })));
  },

  error(err) {
    app.alert(describe(err));
  },

  /** Navigates; notices shown just before (e.g. "Flag created") stay. */
  go(hash) {
    keepNotices = true;
    if (location.hash === hash) route();
    else location.hash = hash;
  },

  setEnv(key) {
    app.env = key;
    if (app.project) sessionStorage.setItem(`switchyard.env.${app.project}`, key);
    renderTopbar();
    window.dispatchEvent(new CustomEvent('switchyard:env', { detail: key }));
  },

  envName(key) {
    return app.envs.find((e) => e.key === key)?.name || key;
  },

  async loadEnvs() {
    app.envs = await get(url('projects', app.project, 'environments'));
    if (!app.envs.some((e) => e.key === app.env)) {
      const saved = sessionStorage.getItem(`switchyard.env.${app.project}`);
      app.env = app.envs.some((e) => e.key === saved) ? saved : (app.envs.find((e) => e.key === 'production') || app.envs[0])?.key || null;
    }
    live.follow(app.project, app.envs);
    return app.envs;
  },
};

setUnauthorizedHandler(() => {
  live.stop();
  app.me = null;
  sessionStorage.setItem('switchyard.loginMessage', 'Your session has expired or was revoked. Please sign in again.');
  location.hash = '#/login';
});

let cleanup = null;
let navToken = 0;
let currentHash = location.hash;
let firstRoute = true;

/** A view with unsaved edits sets this; navigation then asks first. */
app.unsaved = null;
window.addEventListener('beforeunload', (e) => {
  if (app.unsaved?.()) {
    e.preventDefault();
    e.returnValue = '';
  }
});

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const [path, qs] = raw.split('?');
  const parts = path.split('/').filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  return { parts, query: new URLSearchParams(qs || '') };
}

function logout() {
  live.stop();
  session.clear();
  app.me = null;
  app.project = null;
  app.projects = [];
  location.hash = '#/login';
}

function navLink(href, label, current) {
  return h('a', { href, class: 'nav-link', 'aria-current': current ? 'page' : null, text: label });
}

let liveEl = null;
function liveIndicator() {
  const states = [...live.status.values()];
  const el = liveEl || h('span', { class: 'live-ind' });
  liveEl = el;
  clear(el);
  let text = 'Live updates: off';
  let key = 'off';
  if (states.length && states.every((s) => s === 'live' || s === 'polled')) {
    text = 'Live';
    key = 'on';
  } else if (states.some((s) => s === 'reconnecting')) {
    text = 'Reconnecting…';
    key = 'warn';
  }
  el.className = `live-ind live-${key}`;
  el.title = [...live.status.entries()].map(([e, s]) => `${e}: ${s}`).join(', ') || 'No live connection';
  el.append(h('span', { 'aria-hidden': 'true', text: key === 'on' ? '◉ ' : key === 'warn' ? '◌ ' : '○ ' }), text);
  return el;
}
live.on((m) => {
  if (m.type === 'status' && liveEl) liveIndicator();
});

function renderTopbar(section) {
  clear(slot);
  const s = session.get();
  if (!s) {
    document.getElementById('env-banner').hidden = true;
    return;
  }
  if (section !== undefined) renderTopbar.section = section;
  const current = renderTopbar.section;
  const bar = h('nav', { class: 'topnav', 'aria-label': 'Main' });
  if (app.projects.length) {
    const proj = select(app.projects.map((p) => [p.key, p.name || p.key]), app.project || '', { id: 'project-select', class: 'compact' });
    proj.addEventListener('change', () => app.go(`#/projects/${encodeURIComponent(proj.value)}/flags`));
    bar.append(h('div', { class: 'switcher' }, h('label', { for: 'project-select', text: 'Project' }), proj));
  }
  if (app.project && app.envs.length) {
    const env = select(app.envs.map((e) => [e.key, e.name || e.key]), app.env || '', { id: 'env-select', class: 'compact' });
    env.addEventListener('change', () => app.setEnv(env.value));
    const currentEnv = app.envs.find((e) => e.key === app.env);
    bar.append(paint(h('div', { class: 'switcher env-switcher' }, h('span', { class: 'env-dot', 'aria-hidden': 'true' }), h('label', { for: 'env-select', text: 'Environment' }), env), currentEnv));
  }
  if (app.project) {
    const p = encodeURIComponent(app.project);
    bar.append(h('div', { class: 'nav-links' },
      navLink(`#/projects/${p}/flags`, 'Flags', current === 'flags'),
      navLink(`#/projects/${p}/audit`, 'Audit', current === 'audit'),
      navLink(`#/projects/${p}/segments`, 'Segments', current === 'segments'),
      navLink(`#/projects/${p}/fleet`, 'Fleet', current === 'fleet'),
      navLink(`#/projects/${p}/stale`, 'Stale flags', current === 'stale'),
      navLink(`#/projects/${p}/incidents`, 'Incidents', current === 'incidents'),
      can('admin') ? navLink(`#/projects/${p}/keys`, 'SDK keys', current === 'keys') : null,
      can('admin') ? navLink(`#/projects/${p}/webhooks`, 'Webhooks', current === 'webhooks') : null,
      can('admin') ? navLink(`#/projects/${p}/settings`, 'Settings', current === 'settings') : null,
      isGlobalAdmin() ? navLink('#/admin', 'Admin', current === 'admin') : null));
  } else if (isGlobalAdmin()) {
    bar.append(h('div', { class: 'nav-links' }, navLink('#/admin', 'Admin', current === 'admin')));
  }
  const user = h('div', { class: 'user' },
    app.project ? liveIndicator() : null,
    h('span', { class: 'who', title: `Signed in as ${s.username} (${s.role}${effectiveRole() !== s.role ? `; ${effectiveRole()} in this project` : ''})` }, h('span', { class: 'who-name', text: s.username }), ' ', h('span', { class: `role role-${effectiveRole()}`, id: 'who-role', text: effectiveRole() })),
    h('button', { type: 'button', class: 'btn btn-small', id: 'change-password', text: 'Password', title: 'Change your password', onclick: () => changeOwnPassword(app) }),
    h('button', { type: 'button', class: 'btn btn-small', id: 'logout', text: 'Log out', onclick: logout }));
  slot.append(bar, user);
  renderEnvBanner();
}

/** The current environment's band under the top bar: loud for production-like ones. */
function renderEnvBanner() {
  const banner = document.getElementById('env-banner');
  const env = app.project && app.envs.find((e) => e.key === app.env);
  clear(banner);
  banner.hidden = !env;
  if (!env) return;
  const production = isProduction(env);
  banner.dataset.env = env.key;
  banner.dataset.production = String(production);
  paint(banner, env);
  banner.append(production
    ? h('span', { text: `⚠ Production: ${env.name || env.key}. Changes here reach real users.` })
    : h('span', { text: `Environment: ${env.name || env.key}` }));
}
app.renderTopbar = renderTopbar;

async function ensureProjects() {
  if (!app.projects.length) app.projects = await get(url('projects'));
}

async function route() {
  if (app.unsaved?.() && location.hash !== currentHash) {
    // eslint-disable-next-line no-alert
    if (!window.confirm('You have unsaved changes. Leave this page and discard them?')) {
      window.history.replaceState(null, '', currentHash || '#/');
      return;
    }
  }
  app.unsaved = null;
  // Notices belong to the page they were shown on: leaving it clears them.
  if (!keepNotices && location.hash !== currentHash) clear(notices);
  keepNotices = false;
  currentHash = location.hash;
  const token = ++navToken;
  const moveFocus = !firstRoute;
  firstRoute = false;
  if (cleanup) {
    try {
      cleanup();
    } catch {
      // ignore
    }
    cleanup = null;
  }
  app.alert('');
  const { parts, query } = parseHash();
  const s = session.get();
  if (!s || parts[0] === 'login') {
    if (s && parts[0] === 'login') {
      location.hash = '#/';
      return;
    }
    if (parts[0] !== 'login') {
      location.hash = '#/login';
      return;
    }
    live.stop();
    app.project = null;
    renderTopbar();
    clear(main);
    cleanup = loginView.render({ app, root: main, query }) || null;
    return;
  }
  try {
    if (!app.me) {
      app.me = await get(url('me'));
      if (app.me.role !== s.role) session.set({ ...s, role: app.me.role });
    }
    await ensureProjects();
  } catch (e) {
    if (token !== navToken) return;
    if (session.get()) renderError(e);
    return;
  }
  if (token !== navToken) return;

  if (parts.length === 0 || (parts[0] === 'projects' && parts.length === 1)) {
    if (parts.length === 0 && app.projects.length) {
      const saved = sessionStorage.getItem('switchyard.project');
      const p = app.projects.find((x) => x.key === saved) || app.projects[0];
      location.replace(`#/projects/${encodeURIComponent(p.key)}/flags`);
      return;
    }
    app.project = null;
    setProjectRole(null);
    live.stop();
    renderTopbar('projects');
    clear(main);
    cleanup = adminView.renderProjects({ app, root: main }) || null;
    if (moveFocus) focusSoon(token);
    return;
  }
  if (parts[0] === 'admin') {
    setProjectRole(null);
    renderTopbar('admin');
    clear(main);
    cleanup = adminView.render({ app, root: main }) || null;
    if (moveFocus) focusSoon(token);
    return;
  }
  if (parts[0] === 'projects') {
    const project = parts[1];
    if (app.project !== project) {
      if (!app.projects.some((p) => p.key === project)) {
        app.projects = await get(url('projects')).catch(() => app.projects);
      }
      app.project = project;
      app.env = null;
      sessionStorage.setItem('switchyard.project', project);
      // Memberships change under an open page: read them again per project.
      app.me = await get(url('me')).catch(() => app.me);
    }
    setProjectRole((app.me?.memberships || []).find((m) => m.project === project)?.role);
    try {
      await app.loadEnvs();
    } catch (e) {
      if (token !== navToken) return;
      renderError(e);
      return;
    }
    if (token !== navToken) return;
    const section = parts[2] || 'flags';
    const ctx = { app, root: main, query, project };
    renderTopbar(section);
    clear(main);
    let result;
    if (section === 'flags' && parts[3]) result = flagView.render({ ...ctx, flag: parts[3] });
    else if (section === 'flags') result = flagsView.render(ctx);
    else if (section === 'audit') result = auditView.render(ctx);
    else if (section === 'segments') result = segmentsView.render({ ...ctx, segment: parts[3] });
    else if (section === 'keys') result = keysView.render(ctx);
    else if (section === 'fleet') result = fleetView.render(ctx);
    else if (section === 'stale') result = staleView.render(ctx);
    else if (section === 'incidents') result = incidentView.render({ ...ctx, incident: parts[3] });
    else if (section === 'webhooks') result = webhooksView.render(ctx);
    else if (section === 'settings') result = settingsView.render(ctx);
    else return notFound();
    cleanup = result || null;
    if (moveFocus) focusSoon(token);
    return;
  }
  notFound();
}

function notFound() {
  clear(main);
  renderTopbar('');
  main.append(h('section', { class: 'panel' }, h('h1', { text: 'Page not found' }), h('p', {}, h('a', { href: '#/', text: 'Go to your flags' }))));
}

function renderError(e) {
  clear(main);
  renderTopbar();
  main.append(h('section', { class: 'panel' }, h('h1', { text: 'Something went wrong' }), h('p', { text: describe(e) }),
    h('button', { type: 'button', class: 'btn', text: 'Try again', onclick: () => route() })));
}

/**
 * After an in-app navigation, moves focus to the new page's heading (for
 * screen readers and keyboards), unless the view already focused something.
 */
function focusSoon(token, tries = 0) {
  if (token !== navToken) return;
  const active = document.activeElement;
  if (active && active !== document.body && main.contains(active)) return;
  if (document.querySelector('.backdrop')) return;
  const heading = main.querySelector('h1');
  if (heading) {
    heading.setAttribute('tabindex', '-1');
    heading.focus({ preventScroll: true });
    window.scrollTo(0, 0);
  } else if (tries < 20) setTimeout(() => focusSoon(token, tries + 1), 50);
}

window.addEventListener('hashchange', () => route());
route();

// Expose minimal hooks for the browser tests (no secrets).
window.switchyard = { app, live, api };
