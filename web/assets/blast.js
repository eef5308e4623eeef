// The blast radius in the kill and panic dialogs: who a kill would reach
// now (GET …/blast-radius: connected SDK instances per service, those that
// evaluated the flags in the last minutes, the evaluation rate, what the
// flags serve now and what they would serve killed). Read only, loaded
// beside the form: the Kill button never waits for it.

import { get, url, describe } from './api.js';
import { h, clear } from './dom.js';

const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

function servicesTable(flag) {
  const rows = flag.services.filter((s) => s.connected > 0 || s.evaluations > 0);
  if (!rows.length) return h('p', { class: 'muted', text: 'No SDK instance is connected, and none reported evaluating it.' });
  return h('table', { class: 'simple blast-services', 'data-flag': flag.flag },
    h('thead', {}, h('tr', {}, ['Service', 'Evaluating', 'Connected', 'Evaluations/min'].map((t) => h('th', { scope: 'col', text: t })))),
    h('tbody', {}, rows.map((s) => h('tr', { 'data-service': s.service ?? '' },
      h('td', { 'data-label': 'Service', text: s.service ?? '(unnamed)' }),
      h('td', { 'data-label': 'Evaluating', class: 'evaluating', text: String(s.evaluating) }),
      h('td', { 'data-label': 'Connected', class: 'connected', text: String(s.connected) }),
      h('td', { 'data-label': 'Evaluations/min', class: 'rate', text: s.per_minute.toFixed(1) })))));
}

function render(box, r) {
  clear(box);
  const what = r.flags.length === 1 ? 'this flag' : 'these flags';
  const unknown = r.without_telemetry ? ` ${plural(r.without_telemetry, 'instance sends', 'instances send')} no telemetry: whether it evaluates ${what} is unknown.` : '';
  box.append(h('h3', { text: 'Blast radius' }),
    h('p', { class: 'blast-summary', 'data-evaluating': r.evaluating, 'data-connected': r.connected },
      `${r.evaluating} of ${plural(r.connected, 'connected SDK instance', 'connected SDK instances')} evaluated ${what} in the last ${r.window_minutes} min.${unknown}`));
  if (r.unanswered.length) box.append(h('p', { class: 'muted', text: `Incomplete: ${plural(r.unanswered.length, 'replica', 'replicas')} did not answer.` }));
  for (const f of r.flags) {
    const served = f.variants.map((v) => `${v.variant} (${v.evaluations})`).join(', ') || 'no evaluations seen';
    box.append(h('div', { class: 'blast-flag', 'data-flag': f.flag },
      h('p', {}, h('strong', { text: f.flag }), f.killed ? ' (already killed)' : '',
        ` — ${f.per_minute.toFixed(1)} evaluations/min; serving ${served}; killed it serves `, h('code', { class: 'blast-serves', text: f.serves }), '.'),
      f.dependents.length ? h('p', { class: 'blast-dependents', text: `Flags with it as a prerequisite serve their off variant too: ${f.dependents.join(', ')}.` }) : null,
      servicesTable(f)));
  }
}

/** A panel and `load(project, env, {flags, tag})` to fill it (latest call wins). */
export function blastPanel() {
  const box = h('section', { class: 'blast', id: 'blast-radius', 'aria-live': 'polite' });
  let seq = 0;
  async function load(project, env, { flags = [], tag } = {}) {
    const mine = ++seq;
    clear(box);
    if (!flags.length && !tag) return;
    box.append(h('p', { class: 'muted', text: 'Looking up who this reaches…' }));
    const q = new URLSearchParams();
    if (flags.length) q.set('flags', flags.join(','));
    if (tag) q.set('tag', tag);
    try {
      const r = await get(url('projects', project, 'environments', env, 'blast-radius') + `?${q}`);
      if (mine === seq) render(box, r);
    } catch (err) {
      if (mine !== seq) return;
      clear(box);
      box.append(h('p', { class: 'muted', text: `Blast radius unavailable (${describe(err)}); the kill works regardless.` }));
    }
  }
  return { box, load };
}
