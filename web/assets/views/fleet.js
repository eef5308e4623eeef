// The fleet: every SDK instance connected to the selected environment, on
// any replica (service, versions, transport, revision, lag, last seen).
// Refreshed every 5 s while shown, and on an environment switch.

import { get, url, describe } from '../api.js';
import { h, clear, timeEl } from '../dom.js';

const REFRESH_MS = 5000;

function lagText(row) {
  if (!row.lag_revisions) return 'current';
  const ms = row.lag_ms == null ? 'for an unknown time' : `for ${(row.lag_ms / 1000).toFixed(1)} s`;
  return `${row.lag_revisions} behind ${ms}`;
}

function table(view) {
  if (!view.instances.length) return h('p', { class: 'muted', id: 'fleet-empty', text: 'No SDK instance is connected to this environment.' });
  const cols = ['Service', 'Version', 'Instance', 'SDK', 'Transport', 'Revision', 'Lag', 'Last seen', 'Replica'];
  return h('table', { class: 'simple', id: 'fleet-table' },
    h('thead', {}, h('tr', {}, cols.map((t) => h('th', { scope: 'col', text: t })))),
    h('tbody', {}, view.instances.map((r) => h('tr', { 'data-instance': r.instance, class: r.lag_revisions ? 'lagging' : '' },
      h('td', { 'data-label': 'Service', text: r.service || '—' }),
      h('td', { 'data-label': 'Version', text: r.service_version || '—' }),
      h('td', { 'data-label': 'Instance' }, h('code', { text: r.instance })),
      h('td', { 'data-label': 'SDK', text: r.sdk || '—' }),
      h('td', { 'data-label': 'Transport', class: 'transport', text: r.transport.toUpperCase() }),
      h('td', { 'data-label': 'Revision', text: String(r.revision) }),
      h('td', { 'data-label': 'Lag', class: 'lag', text: lagText(r) }),
      h('td', { 'data-label': 'Last seen' }, timeEl(new Date(r.last_seen_ms).toISOString())),
      h('td', { 'data-label': 'Replica' }, h('code', { text: r.replica.slice(0, 8) }))))));
}

export function render({ app, root, project }) {
  let disposed = false;
  let timer = null;
  const summary = h('p', { class: 'hint', id: 'fleet-summary', role: 'status' });
  const body = h('div');
  root.append(h('section', { class: 'page' },
    h('div', { class: 'page-head' }, h('h1', { text: 'Fleet' })),
    h('p', { class: 'hint', text: 'SDK instances connected now: open streams, OFREP refetch streams, and SDKs that polled in the last two minutes.' }),
    summary, body));

  async function draw() {
    clearTimeout(timer);
    const env = app.env;
    if (!env) return;
    try {
      const view = await get(url('projects', project, 'environments', env, 'fleet'));
      if (disposed || env !== app.env) return;
      const behind = view.instances.filter((r) => r.lag_revisions > 0).length;
      const missing = view.unanswered.length ? ` Incomplete: ${view.unanswered.length} replica(s) did not answer.` : '';
      summary.textContent = `${view.instances.length} instance(s) in ${app.envName(env)} at revision ${view.revision}, ${behind} behind, over ${view.replicas} replica(s).${missing}`;
      clear(body);
      body.append(table(view));
    } catch (e) {
      if (disposed) return;
      clear(body);
      body.append(h('p', { class: 'form-error', text: describe(e) }));
    }
    if (!disposed) timer = setTimeout(draw, REFRESH_MS);
  }
  const onEnv = () => draw();
  window.addEventListener('switchyard:env', onEnv);
  draw();
  return () => {
    disposed = true;
    clearTimeout(timer);
    window.removeEventListener('switchyard:env', onEnv);
  };
}
