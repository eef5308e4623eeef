// The flag page's usage card: is anyone still evaluating this flag, and
// who? (GET …/flags/{flag}/usage, from SDK telemetry.) One row per
// environment — last evaluated, evaluations per variant over 24 hours and 7
// days — and the services of the selected environment. Refreshed every 30 s.

import { get, url, describe } from './api.js';
import { h, clear, timeEl } from './dom.js';

const POLL_MS = 30000;

const shares = (list) => list.length ? list.map((v) => `${v.variant} ${v.evaluations}`).join(', ') : '—';

function envTable(app, usage, env) {
  return h('table', { class: 'simple', id: 'usage-envs' },
    h('thead', {}, h('tr', {}, ['Environment', 'Last evaluated', 'Last 24 h', 'Last 7 days'].map((t) => h('th', { scope: 'col', text: t })))),
    h('tbody', {}, usage.environments.map((e) => h('tr', { 'data-env': e.environment, class: e.environment === env ? 'current' : '' },
      h('td', { 'data-label': 'Environment', text: app.envName(e.environment) }),
      h('td', { 'data-label': 'Last evaluated', class: 'last' }, e.last_evaluated ? timeEl(e.last_evaluated) : 'never (with telemetry)'),
      h('td', { 'data-label': 'Last 24 h', class: 'day', text: shares(e.day) }),
      h('td', { 'data-label': 'Last 7 days', class: 'week', text: shares(e.week) })))));
}

function servicesTable(app, e) {
  if (!e || !e.services.length) return h('p', { class: 'muted', id: 'usage-no-services', text: `No service reported evaluating it in ${app.envName(e?.environment ?? '')} in the last 7 days.` });
  return h('table', { class: 'simple', id: 'usage-services' },
    h('thead', {}, h('tr', {}, ['Service', 'Instances (7 days)', 'Last 24 h', 'Last 7 days', 'Last seen'].map((t) => h('th', { scope: 'col', text: t })))),
    h('tbody', {}, e.services.map((s) => h('tr', { 'data-service': s.service ?? '' },
      h('td', { 'data-label': 'Service', text: s.service ?? '(unnamed)' }),
      h('td', { 'data-label': 'Instances (7 days)', class: 'instances', text: String(s.instances) }),
      h('td', { 'data-label': 'Last 24 h', class: 'day', text: String(s.day) }),
      h('td', { 'data-label': 'Last 7 days', class: 'week', text: String(s.week) }),
      h('td', { 'data-label': 'Last seen' }, s.last_seen ? timeEl(s.last_seen) : '—')))));
}

/** The card: `{ el, dispose }`. */
export function usageCard({ app, project, env, flag }) {
  const body = h('div');
  const el = h('section', { class: 'card', id: 'usage-card' }, h('h2', { text: 'Usage' }),
    h('p', { class: 'hint', text: 'From SDKs with telemetry on: who evaluates this flag, in every environment.' }), body);
  let timer = null;
  let disposed = false;
  async function draw() {
    clearTimeout(timer);
    try {
      const usage = await get(url('projects', project, 'flags', flag, 'usage'));
      if (disposed) return;
      clear(body);
      const here = usage.environments.find((e) => e.environment === env);
      body.append(envTable(app, usage, env), h('h3', { text: `Services in ${app.envName(env)}` }), servicesTable(app, here));
    } catch (e) {
      if (disposed) return;
      clear(body);
      body.append(h('p', { class: 'form-error', text: describe(e) }));
    }
    if (!disposed) timer = setTimeout(draw, POLL_MS);
  }
  draw();
  return { el, dispose: () => { disposed = true; clearTimeout(timer); } };
}
