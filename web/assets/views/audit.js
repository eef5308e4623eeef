// The audit log: who / what / why / when with readable diffs, filters,
// "undo this change" and "restore the version before it" on flag
// configuration changes (both preview their diff), and "restore the
// environment to a time" with the dry-run diff shown before confirming.

import { get, post, url, can, query, ApiError, describe } from '../api.js';
import { h, clear, fullTime, ago, select, showErrors, clearErrors } from '../dom.js';
import { openRevertDialog } from '../revert.js';
import { renderDiff } from '../diff.js';
import { live } from '../live.js';

const toIso = (local) => (local ? new Date(local).toISOString() : undefined);

function localValue(date) {
  const d = new Date(date.getTime() - date.getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 19);
}

export function render({ app, root, project, query: q }) {
  let disposed = false;
  let cursor = null;
  const envSel = select([['', 'All environments'], ...app.envs.map((e) => [e.key, e.name || e.key])], q.get('environment') || '', { id: 'audit-env' });
  const flagIn = h('input', { id: 'audit-flag', value: q.get('flag') || '', autocomplete: 'off', spellcheck: 'false' });
  const actorIn = h('input', { id: 'audit-actor', value: q.get('actor') || '', autocomplete: 'off' });
  const fromIn = h('input', { id: 'audit-from', type: 'datetime-local', step: 1 });
  const toIn = h('input', { id: 'audit-to', type: 'datetime-local', step: 1 });
  const list = h('ol', { class: 'audit-list', id: 'audit-list' });
  const more = h('button', { type: 'button', class: 'btn', text: 'Load older events', hidden: true });
  const count = h('p', { class: 'muted', 'aria-live': 'polite' });
  const filters = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter the audit log' },
    h('div', { class: 'field' }, h('label', { for: 'audit-env', text: 'Environment' }), envSel),
    h('div', { class: 'field' }, h('label', { for: 'audit-flag', text: 'Flag key' }), flagIn),
    h('div', { class: 'field' }, h('label', { for: 'audit-actor', text: 'Actor' }), actorIn),
    h('div', { class: 'field' }, h('label', { for: 'audit-from', text: 'From' }), fromIn),
    h('div', { class: 'field' }, h('label', { for: 'audit-to', text: 'To' }), toIn),
    h('div', { class: 'field field-button' }, h('button', { type: 'submit', class: 'btn btn-primary', text: 'Apply filters' })));

  const restore = can('edit') ? restorePanel(app, project, () => reload()) : null;
  root.append(h('section', { class: 'page' },
    h('div', { class: 'page-head' }, h('h1', { text: 'Audit log' })),
    h('p', { class: 'hint', text: 'Every change, newest first. The log is append-only; reverts are new entries.' }),
    filters, count, list, more, restore));

  filters.addEventListener('submit', (e) => {
    e.preventDefault();
    reload();
  });
  more.addEventListener('click', () => loadPage());

  function params() {
    return {
      environment: envSel.value || undefined,
      flag: flagIn.value.trim() || undefined,
      actor: actorIn.value.trim() || undefined,
      from: toIso(fromIn.value),
      to: toIso(toIn.value),
    };
  }

  async function loadPage(reset = false) {
    try {
      const page = await get(url('projects', project, 'audit') + query({ ...params(), cursor: reset ? undefined : cursor, limit: 50 }));
      if (disposed) return;
      if (reset) clear(list);
      for (const ev of page.items || []) list.append(item(ev));
      cursor = page.next_cursor || null;
      more.hidden = !cursor;
      count.textContent = `${list.children.length} event${list.children.length === 1 ? '' : 's'}${cursor ? ' (more available)' : ''}`;
      if (!list.children.length) list.append(h('li', { class: 'muted', text: 'No event matches these filters.' }));
    } catch (e) {
      if (!disposed) app.error(e);
    }
  }
  function reload() {
    cursor = null;
    return loadPage(true);
  }

  function item(ev) {
    const target = [ev.flag ? `flag ${ev.flag}` : null, ev.segment ? `segment ${ev.segment}` : null, ev.environment ? `in ${app.envName(ev.environment)}` : null].filter(Boolean).join(' ');
    const li = h('li', { class: 'audit-item', 'data-id': String(ev.id), 'data-action': ev.action },
      h('div', { class: 'audit-head' },
        h('span', { class: 'action', text: ev.action }),
        target ? h('span', { class: 'target', text: target }) : null,
        h('span', { class: 'who' }, 'by ', h('strong', { text: ev.actor }), ev.actor_kind !== 'user' ? ` (${ev.actor_kind})` : '',
          ev.after?.scheduled?.requested_by && ev.after.scheduled.requested_by !== ev.actor ? h('span', { class: 'requester', 'data-field': 'requester', text: ` requested by ${ev.after.scheduled.requested_by}` }) : null),
        h('time', { datetime: ev.at, title: ago(ev.at), text: fullTime(ev.at) }),
        ev.revision != null ? h('span', { class: 'muted small', text: `revision ${ev.revision}` }) : null),
      ev.reason ? h('p', { class: 'reason' }, h('span', { class: 'muted', text: 'Why: ' }), ev.reason) : h('p', { class: 'reason muted', text: 'No reason given.' }));
    if (ev.incident) {
      const href = `#/projects/${encodeURIComponent(project)}/incidents/${encodeURIComponent(ev.incident)}`;
      li.append(h('p', { class: 'small' }, 'Incident ', h('a', { href, class: 'incident-link', text: ev.incident }), ' — see its timeline'));
    }
    if (ev.before || ev.after) {
      const from = ev.before?.version;
      const to = ev.after?.version;
      const versions = from === undefined && to !== undefined ? ` (created, v${to})`
        : from !== undefined || to !== undefined ? ` (v${from ?? '–'} → v${to ?? '–'})` : '';
      li.append(h('details', { class: 'audit-diff' }, h('summary', { text: `Show changes${versions}` }), renderDiff(ev.before, ev.after)));
    }
    if (ev.after?.undid) li.append(h('p', { class: 'muted small', text: `Undid version ${ev.after.undid.version} (${ev.after.undid.fields.join(', ')}).` }));
    if (ev.after?.restored_version !== undefined) li.append(h('p', { class: 'muted small', text: `Restored version ${ev.after.restored_version}.` }));
    if (can('edit') && ev.flag && ev.environment && ev.action.startsWith('flag.') && !['flag.kill', 'flag.restore', 'flag.kill.applied'].includes(ev.action) && ev.before?.version !== undefined && ev.before?.config && ev.after?.version !== undefined) {
      const v = ev.before.version;
      const done = (what) => (res) => {
        app.notify(`${what} “${ev.flag}” in ${app.envName(ev.environment)} (now version ${res.value.version}).`, { kind: 'success' });
        reload();
      };
      const open = (mode, version, what) => () => openRevertDialog({ app, project, env: ev.environment, flag: ev.flag, mode, version, onDone: done(what) });
      li.append(h('div', { class: 'audit-actions' },
        h('button', { type: 'button', class: 'btn btn-small', 'data-undo': String(ev.after.version), text: 'Undo this change', onclick: open('undo', ev.after.version, 'Undid the change in') }),
        h('button', { type: 'button', class: 'btn btn-small', 'data-revert': String(v), text: `Restore v${v} (whole flag)`, onclick: open('restore', v, `Restored v${v} of`) })));
    }
    return li;
  }

  const off = live.on((m) => {
    if (m.type === 'change' && !cursor && list.children.length < 200) {
      clearTimeout(off.t);
      off.t = setTimeout(reload, 500);
    }
  });

  reload();
  return () => {
    disposed = true;
    off();
    clearTimeout(off.t);
  };
}

/** "Restore environment to time": dry-run diff first, then confirm. */
function restorePanel(app, project, onDone) {
  const envSel = select(app.envs.map((e) => [e.key, e.name || e.key]), app.env, { id: 'restore-env', 'data-path': 'environment' });
  const at = h('input', { id: 'restore-at', type: 'datetime-local', step: 1, 'data-path': 'at', value: localValue(new Date(Date.now() - 3600 * 1000)) });
  const reason = h('input', { id: 'restore-reason', 'data-path': 'reason', autocomplete: 'off' });
  const preview = h('div', { class: 'restore-preview', id: 'restore-preview', 'aria-live': 'polite' });
  const form = h('form', { class: 'stack', novalidate: true },
    h('div', { class: 'error-summary', role: 'alert', hidden: true }),
    h('div', { class: 'grid-3' },
      h('div', { class: 'field' }, h('label', { for: 'restore-env', text: 'Environment' }), envSel),
      h('div', { class: 'field' }, h('label', { for: 'restore-at', text: 'Restore to (your local time)' }), at),
      h('div', { class: 'field' }, h('label', { for: 'restore-reason', text: 'Reason (required)' }), reason)),
    h('div', {}, h('button', { type: 'submit', class: 'btn', id: 'restore-preview-button', text: 'Preview (dry run)' })),
    preview);
  const body = (dry) => ({ at: toIso(at.value), reason: reason.value.trim(), dry_run: dry });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    clear(preview);
    if (!at.value) return showErrors(form, [{ path: 'at', message: 'Choose a time.' }]);
    if (!reason.value.trim()) return showErrors(form, [{ path: 'reason', message: 'A reason is required.' }]);
    const env = envSel.value;
    try {
      const res = await post(url('projects', project, 'environments', env, 'restore'), body(true));
      const diffs = res.value || [];
      if (!diffs.length) {
        preview.append(h('p', { text: `Nothing changed in ${app.envName(env)} since then: there is nothing to restore.` }));
        return;
      }
      preview.append(h('h3', { text: `Dry run: ${diffs.length} flag${diffs.length === 1 ? '' : 's'} would change in ${app.envName(env)}` }),
        h('ul', { class: 'restore-list' }, diffs.map((d) => h('li', {},
          h('p', {}, h('code', { text: d.flag }), ` v${d.from_version} → ${d.to_version == null ? 'switched off (did not exist then)' : `v${d.to_version}`}`),
          renderDiff({ config: d.before }, { config: d.after })))));
      const confirm = h('button', { type: 'button', class: 'btn btn-danger', id: 'restore-confirm', text: `Restore ${diffs.length} flag${diffs.length === 1 ? '' : 's'} in ${app.envName(env)}` });
      confirm.addEventListener('click', async () => {
        confirm.disabled = true;
        try {
          const done = await post(url('projects', project, 'environments', env, 'restore'), body(false));
          clear(preview);
          preview.append(h('p', { class: 'success' }, h('span', { 'aria-hidden': 'true', text: '✓ ' }), `Restored ${(done.value || []).length} flag(s) in ${app.envName(env)} (revision ${done.revision ?? '–'}).`));
          onDone();
        } catch (er) {
          confirm.disabled = false;
          showErrors(form, er instanceof ApiError ? (er.errors.length ? er.errors : [{ path: '', message: describe(er) }]) : [{ path: '', message: String(er) }]);
        }
      });
      preview.append(confirm);
    } catch (er) {
      showErrors(form, er instanceof ApiError && er.errors.length ? er.errors : [{ path: '', message: describe(er) }]);
    }
  });
  return h('section', { class: 'card restore-card', 'aria-labelledby': 'restore-h' },
    h('h2', { id: 'restore-h', text: 'Restore an environment to a point in time' }),
    h('p', { class: 'hint', text: 'Reverts every flag changed since then, in one change. You see exactly what would change before anything is written.' }),
    form);
}
