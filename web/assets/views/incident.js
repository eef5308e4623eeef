// Incidents: the project's incidents (#/projects/P/incidents) and one
// incident's timeline (#/projects/P/incidents/ID): trigger fires, kills,
// panics, guard trips, restores and when the fleet applied each (receipts),
// after the project's changes in the minutes before; with the times to
// mitigate (the fleet applied the first kill) and to restore.

import { get, url, query, describe } from '../api.js';
import { h, clear, fullTime, select } from '../dom.js';

const KIND = {
  alert: 'Alert started',
  trigger: 'Trigger fired',
  kill: 'Kill',
  panic: 'Panic',
  guard_trip: 'Guard trip',
  restore: 'Restore',
  applied: 'Fleet applied',
  change: 'Change before',
};

/** 850 ms, 12.3 s, 4 min 05 s, 2 h 03 min. */
export function duration(ms) {
  if (ms == null) return '—';
  const s = ms / 1000;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(Math.floor(s % 60)).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

function offset(at, start) {
  if (!start) return '';
  const ms = Date.parse(at) - Date.parse(start);
  return ms < 0 ? `−${duration(-ms)}` : `+${duration(ms)}`;
}

function receiptText(r, of) {
  const slowest = r.max_ms == null ? '' : `, slowest acknowledgement ${r.max_ms.toFixed(1)} ms`;
  const partial = r.complete ? '' : ' — not every connected SDK confirmed it';
  return `${of === 'restore' ? 'Restore' : 'Kill'} applied by ${r.applied}/${r.connected} connected SDK instance(s)${slowest}${partial}`;
}

function stat(id, label, value, note) {
  return h('div', { class: 'incident-stat', id },
    h('span', { class: 'incident-stat-label', text: label }),
    h('strong', { class: 'incident-stat-value', text: value }),
    note ? h('span', { class: 'muted small', text: note }) : null);
}

function summary(t) {
  const times = t.times;
  const fleet = (r) => (r ? `${r.applied}/${r.connected} SDKs${r.complete ? '' : ' (incomplete)'}` : 'no receipt recorded');
  return h('div', { class: 'incident-stats', id: 'incident-times' },
    stat('incident-started', 'Started', times.started_at ? fullTime(times.started_at) : '—', times.started_by ? `by ${KIND[times.started_by] || times.started_by}` : null),
    stat('incident-mitigate', 'Time to mitigate', duration(times.time_to_mitigate_ms), times.first_kill_at ? `fleet applied the first kill: ${fleet(times.mitigation)}` : 'no kill'),
    stat('incident-restore', 'Time to restore', duration(times.time_to_restore_ms), times.restored_at ? `fleet applied it ${times.time_to_restore_applied_ms == null ? '—' : `at +${duration(times.time_to_restore_applied_ms)}`}: ${fleet(times.restoration)}` : 'not restored'));
}

function eventItem(e, start, app, project) {
  const where = [e.flag ? `flag ${e.flag}` : null, e.environment ? `in ${app.envName(e.environment)}` : null].filter(Boolean).join(' ');
  const flagLink = e.flag ? h('a', { href: `#/projects/${encodeURIComponent(project)}/flags/${encodeURIComponent(e.flag)}`, text: where }) : where;
  const detail = e.receipt ? receiptText(e.receipt, e.applied_to) : e.reason ? `${e.action}: ${e.reason}` : e.action;
  return h('li', { class: `incident-event incident-${e.kind}`, 'data-kind': e.kind, 'data-action': e.action },
    h('div', { class: 'incident-when' },
      h('time', { datetime: e.at, text: fullTime(e.at) }),
      h('span', { class: 'muted small incident-offset', text: offset(e.at, start) })),
    h('div', { class: 'incident-what' },
      h('span', { class: 'incident-kind', text: KIND[e.kind] || e.kind }), ' ', flagLink,
      h('span', { class: 'who' }, ' by ', h('strong', { text: e.actor }), e.actor_kind !== 'user' ? ` (${e.actor_kind})` : ''),
      h('p', { class: 'incident-detail', text: detail })));
}

function renderTimeline({ app, root, project, incident }) {
  let disposed = false;
  const windowSel = select([['15', '15 minutes'], ['30', '30 minutes'], ['60', '1 hour'], ['240', '4 hours']], '30', { id: 'incident-before' });
  const body = h('div', { id: 'incident-body', 'aria-live': 'polite' }, h('p', { class: 'loading', text: 'Loading…' }));
  root.append(h('section', { class: 'page' },
    h('div', { class: 'page-head' }, h('h1', { text: `Incident ${incident}` })),
    h('p', {}, h('a', { href: `#/projects/${encodeURIComponent(project)}/incidents`, text: '← All incidents' })),
    h('div', { class: 'field' }, h('label', { for: 'incident-before', text: 'Show the project’s changes before it for' }), windowSel),
    body));

  async function draw() {
    try {
      const t = await get(url('projects', project, 'incidents', incident) + query({ before_minutes: windowSel.value }));
      if (disposed) return;
      clear(body);
      const where = `Environments: ${t.environments.join(', ') || '—'}. Flags: ${t.flags.join(', ') || '—'}.`;
      body.append(summary(t), h('p', { class: 'hint', text: where }),
        h('ol', { class: 'incident-timeline', id: 'incident-timeline' }, t.events.map((e) => eventItem(e, t.times.started_at, app, project))));
    } catch (e) {
      if (disposed) return;
      clear(body);
      body.append(h('p', { class: 'form-error', id: 'incident-error', text: describe(e) }));
    }
  }
  windowSel.addEventListener('change', draw);
  draw();
  return () => {
    disposed = true;
  };
}

function renderList({ root, project }) {
  let disposed = false;
  const body = h('div', { id: 'incidents-body' }, h('p', { class: 'loading', text: 'Loading…' }));
  root.append(h('section', { class: 'page' },
    h('div', { class: 'page-head' }, h('h1', { text: 'Incidents' })),
    h('p', { class: 'hint', text: 'Every incident id a kill, restore or alert carried, most recent first. Drills (switchyard drill) are here too.' }),
    body));
  get(url('projects', project, 'incidents')).then((list) => {
    if (disposed) return;
    clear(body);
    if (!list.length) {
      body.append(h('p', { class: 'muted', id: 'incidents-empty', text: 'No incident yet: give a kill an incident id and it appears here.' }));
      return;
    }
    const link = (i) => h('a', { href: `#/projects/${encodeURIComponent(project)}/incidents/${encodeURIComponent(i.incident)}`, text: i.incident });
    body.append(h('table', { class: 'simple', id: 'incidents-table' },
      h('thead', {}, h('tr', {}, ['Incident', 'First event', 'Last event', 'Events'].map((c) => h('th', { scope: 'col', text: c })))),
      h('tbody', {}, list.map((i) => h('tr', { 'data-incident': i.incident },
        h('td', { 'data-label': 'Incident' }, link(i)),
        h('td', { 'data-label': 'First event', text: fullTime(i.first_at) }),
        h('td', { 'data-label': 'Last event', text: fullTime(i.last_at) }),
        h('td', { 'data-label': 'Events', text: String(i.events) }))))));
  }).catch((e) => {
    if (disposed) return;
    clear(body);
    body.append(h('p', { class: 'form-error', text: describe(e) }));
  });
  return () => {
    disposed = true;
  };
}

export function render(ctx) {
  return ctx.incident ? renderTimeline(ctx) : renderList(ctx);
}
