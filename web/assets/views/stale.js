// Stale flags: the project's removal candidates (GET …/stale-flags): past
// their expiry, temporary flags that served one variant to every
// evaluation for the look-back, flags no SDK evaluated in it. The look-back
// (days) is asked again on change; one row per flag and reason.

import { get, url, describe } from '../api.js';
import { h, clear, timeEl } from '../dom.js';

function detail(app, r) {
  if (r.reason === 'expired') return h('span', {}, 'Expired ', timeEl(r.expires_at));
  if (r.reason === 'single_variant') return `${app.envName(r.environment)}: only “${r.variant}” served (${r.evaluations} evaluations)`;
  return h('span', {}, `${app.envName(r.environment)}: not evaluated; last `, r.last_evaluated ? timeEl(r.last_evaluated) : 'never (in the retention)');
}

const LABELS = { expired: 'Expired', single_variant: 'One variant', not_evaluated: 'Not evaluated' };

function table(app, project, report) {
  if (!report.flags.length) return h('p', { class: 'muted', id: 'stale-empty', text: 'No flag is a removal candidate.' });
  const p = encodeURIComponent(project);
  return h('table', { class: 'simple', id: 'stale-table' },
    h('thead', {}, h('tr', {}, ['Flag', 'Type', 'Reason', 'Detail'].map((t) => h('th', { scope: 'col', text: t })))),
    h('tbody', {}, report.flags.flatMap((f) => f.reasons.map((r) => h('tr', { 'data-flag': f.flag, 'data-reason': r.reason },
      h('td', { 'data-label': 'Flag' }, h('a', { href: `#/projects/${p}/flags/${encodeURIComponent(f.flag)}`, text: f.flag })),
      h('td', { 'data-label': 'Type', text: f.temporary ? 'temporary' : 'permanent' }),
      h('td', { 'data-label': 'Reason', class: 'reason', text: LABELS[r.reason] || r.reason }),
      h('td', { 'data-label': 'Detail' }, detail(app, r)))))));
}

export function render({ app, root, project }) {
  let disposed = false;
  const days = h('input', { type: 'number', id: 'stale-days', min: 1, max: 3650, placeholder: 'server default', class: 'compact' });
  const summary = h('p', { class: 'hint', id: 'stale-summary', role: 'status' });
  const body = h('div');
  root.append(h('section', { class: 'page' },
    h('div', { class: 'page-head' }, h('h1', { text: 'Stale flags' })),
    h('p', { class: 'hint', text: 'Removal candidates: past their expiry; temporary flags that served one variant to every evaluation, or flags no SDK evaluated, for the look-back (from SDKs with telemetry on).' }),
    h('div', { class: 'field' }, h('label', { for: 'stale-days', text: 'Look-back (days)' }), days),
    summary, body));
  async function draw() {
    const q = days.value ? `?days=${encodeURIComponent(days.value)}` : '';
    try {
      const report = await get(url('projects', project, 'stale-flags') + q);
      if (disposed) return;
      summary.textContent = `${report.flags.length} stale flag(s) over the last ${report.days} days.`;
      clear(body);
      body.append(table(app, project, report));
    } catch (e) {
      if (disposed) return;
      clear(body);
      body.append(h('p', { class: 'form-error', text: describe(e) }));
    }
  }
  days.addEventListener('change', draw);
  draw();
  return () => { disposed = true; };
}
