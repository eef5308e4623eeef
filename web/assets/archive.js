// A flag's lifecycle on its page (admins): archive in two steps — the
// dialog first shows, per environment, when SDKs last evaluated the flag
// and who is connected and evaluating it (the server's dry run, nothing
// written), then archives with a reason — and, for an archived flag, a
// banner with Restore from archive and Delete.

import { get, post, del, url, can, describe, query } from './api.js';
import { h, clear, timeEl } from './dom.js';
import { openDialog, confirmDialog } from './dialog.js';

function usageTable(app, environments) {
  return h('table', { class: 'simple', id: 'archive-usage' },
    h('thead', {}, h('tr', {}, ['Environment', 'Last evaluated', 'Connected', 'Evaluating', 'Needed by'].map((t) => h('th', { scope: 'col', text: t })))),
    h('tbody', {}, environments.map((e) => h('tr', { 'data-env': e.environment },
      h('td', { 'data-label': 'Environment', text: app.envName(e.environment) }),
      h('td', { 'data-label': 'Last evaluated', class: 'last' }, e.last_evaluated ? timeEl(e.last_evaluated) : 'never (with telemetry)'),
      h('td', { 'data-label': 'Connected', class: 'connected', text: String(e.connected) }),
      h('td', { 'data-label': 'Evaluating', class: 'evaluating', text: String(e.evaluating) }),
      h('td', { 'data-label': 'Needed by', class: 'dependents', text: e.dependents.length ? e.dependents.join(', ') : '—' })))));
}

/** The archive dialog: the dry run, then (with a reason) the archive. Calls `onDone` once archived. */
export async function openArchiveDialog({ app, project, flag, onDone }) {
  const path = url('projects', project, 'flags', flag, 'archive');
  const d = openDialog({ title: `Archive ${flag}?`, description: 'An archived flag leaves every SDK snapshot: SDKs serve the default in their code. It can be restored from the archive.', className: 'archive-dialog' });
  const status = h('p', { class: 'muted', text: 'Checking who still evaluates it…' });
  d.body.append(status);
  const cancel = h('button', { type: 'button', class: 'btn', text: 'Cancel', onclick: () => d.close() });
  d.footer.append(cancel);
  let preview;
  try {
    preview = await post(path, { dry_run: true });
  } catch (e) {
    status.textContent = describe(e);
    status.className = 'form-error';
    return;
  }
  clear(d.body);
  const envs = preview.environments;
  const dependents = [...new Set(envs.flatMap((e) => e.dependents))];
  const evaluating = envs.reduce((n, e) => n + e.evaluating, 0);
  d.body.append(usageTable(app, envs));
  if (dependents.length) {
    d.body.append(h('p', { class: 'form-error', id: 'archive-blocked', role: 'alert', text: `Other flags need it as a prerequisite: ${dependents.join(', ')}. Change or archive those first.` }));
    return;
  }
  const stops = envs.flatMap((e) => [
    ...(e.release_plan != null ? [`release plan ${e.release_plan} in ${app.envName(e.environment)} (aborted: flag archived)`] : []),
    ...e.scheduled_changes.map((id) => `scheduled change #${id} in ${app.envName(e.environment)} (cancelled)`),
    ...(e.change_requests ?? []).map((id) => `change request #${id} in ${app.envName(e.environment)} (cancelled)`),
  ]);
  if (stops.length) d.body.append(h('p', { class: 'conflict', id: 'archive-stops', text: `Archiving also stops: ${stops.join('; ')}.` }));
  d.body.append(h('p', { class: evaluating ? 'conflict' : 'muted', id: 'archive-summary', text: evaluating
    ? `${evaluating} connected SDK instance(s) evaluated it in the last 15 minutes: they will serve their code default.`
    : 'No connected SDK instance reported evaluating it in the last 15 minutes.' }));
  const reason = h('textarea', { rows: 2, id: 'archive-reason', name: 'reason', required: true, 'aria-required': 'true' });
  const err = h('p', { class: 'field-error', hidden: true });
  d.body.append(h('div', { class: 'field' }, h('label', { for: 'archive-reason', text: 'Reason' }), reason, err));
  const ok = h('button', { type: 'button', class: 'btn btn-danger', id: 'archive-confirm', text: 'Archive flag' });
  ok.addEventListener('click', async () => {
    if (!reason.value.trim()) {
      err.textContent = 'A reason is required.';
      err.hidden = false;
      reason.focus();
      return;
    }
    ok.disabled = true;
    try {
      await post(path, { confirm: true, reason: reason.value.trim() });
      d.close();
      app.notify(`“${flag}” archived: it is in no SDK snapshot any more.`, { kind: 'success' });
      onDone?.();
    } catch (e) {
      err.textContent = describe(e);
      err.hidden = false;
      ok.disabled = false;
    }
  });
  d.footer.append(ok);
}

/** The banner of an archived flag, with Restore from archive and Delete for admins. */
export function archivedBanner({ app, project, flag, def, onRestored }) {
  const p = encodeURIComponent(project);
  const banner = h('div', { class: 'conflict archived-banner', id: 'archived-banner', role: 'status' },
    h('p', {}, h('strong', { text: 'Archived ' }), timeEl(def.archived_at),
      '. It is in no SDK snapshot, hidden from the flag list and cannot be edited; kills still apply.'));
  if (!can('admin')) return banner;
  const restore = h('button', { type: 'button', class: 'btn btn-primary btn-small', id: 'unarchive-button', text: 'Restore from archive' });
  restore.addEventListener('click', async () => {
    const reason = await confirmDialog({ title: `Restore ${flag} from the archive?`, message: 'It returns to every SDK snapshot with its configuration as it was (a kill included).', confirmLabel: 'Restore', reason: true });
    if (!reason) return;
    try {
      await post(url('projects', project, 'flags', flag, 'unarchive'), { reason });
      app.notify(`“${flag}” restored from the archive.`, { kind: 'success' });
      onRestored?.();
    } catch (e) {
      app.error(e);
    }
  });
  const remove = h('button', { type: 'button', class: 'btn btn-danger-outline btn-small', id: 'delete-flag-button', text: 'Delete…' });
  remove.addEventListener('click', async () => {
    const reason = await confirmDialog({ title: `Delete ${flag}?`, message: 'Its definition and configurations are deleted for good; the audit history stays.', confirmLabel: 'Delete flag', danger: true, reason: true });
    if (!reason) return;
    try {
      await del(url('projects', project, 'flags', flag) + query({ reason }));
      app.notify(`“${flag}” deleted.`, { kind: 'success' });
      location.hash = `#/projects/${p}/flags?archived=true`;
    } catch (e) {
      app.error(e);
    }
  });
  banner.append(h('p', { class: 'actions' }, restore, ' ', remove));
  return banner;
}

/** The Archive button of a flag that is not archived (admins only; null otherwise). */
export function archiveButton({ app, project, flag, onDone }) {
  if (!can('admin')) return null;
  return h('button', { type: 'button', class: 'btn btn-danger-outline btn-small', id: 'archive-button', text: 'Archive…',
    onclick: () => openArchiveDialog({ app, project, flag, onDone }) });
}

/** An environment's archive dialog: whether it is in use (the dry run), then archive (forced when in use). */
export function openEnvArchiveDialog({ app, project, env, onDone }) {
  return openInUseArchiveDialog({
    path: url('projects', project, 'environments', env, 'archive'),
    id: 'env-archive',
    title: `Archive ${app.envName(env)}?`,
    description: 'An archived environment is hidden from the lists and refuses changes; kills still apply and its SDKs are still served.',
    force: 'Archive it anyway',
    confirm: 'Archive environment',
    onDone: () => onDone?.(`Archived ${env}.`),
  });
}

/**
 * The archive dialog of an environment or a project (`path`: its archive
 * route): the server's dry run says whether it is in use (SDK keys used
 * lately, SDK instances connected), then it archives with a reason, forced
 * when in use. Element ids start with `id`.
 */
export async function openInUseArchiveDialog({ path, id, title, description, force: forceLabel, confirm, onDone }) {
  const d = openDialog({ title, description, className: `${id}-dialog` });
  const status = h('p', { class: 'muted', text: 'Checking whether it is in use…' });
  d.body.append(status);
  d.footer.append(h('button', { type: 'button', class: 'btn', text: 'Cancel', onclick: () => d.close() }));
  let dry;
  try {
    dry = await post(path, { dry_run: true });
  } catch (e) {
    status.textContent = describe(e);
    status.className = 'form-error';
    return;
  }
  clear(d.body);
  const keys = dry.keys_used.map((k) => `${k.name} (${k.prefix}…)`).join(', ');
  d.body.append(h('p', { id: `${id}-usage`, class: dry.in_use ? 'conflict' : 'muted', 'data-in-use': String(dry.in_use), text: dry.in_use
    ? `In use: ${dry.keys_used.length} SDK key(s) used in the last ${dry.days} days${keys ? ` (${keys})` : ''}, ${dry.connected} SDK instance(s) connected.`
    : `Not in use: no SDK key used in the last ${dry.days} days, no SDK instance connected.` }));
  const force = h('input', { type: 'checkbox', id: `${id}-force` });
  if (dry.in_use) d.body.append(h('div', { class: 'field' }, h('label', {}, force, ` ${forceLabel}`)));
  const reason = h('textarea', { rows: 2, id: `${id}-reason`, name: 'reason', required: true, 'aria-required': 'true' });
  const err = h('p', { class: 'field-error', id: `${id}-error`, hidden: true });
  d.body.append(h('div', { class: 'field' }, h('label', { for: `${id}-reason`, text: 'Reason' }), reason, err));
  const ok = h('button', { type: 'button', class: 'btn btn-danger', id: `${id}-confirm`, text: confirm });
  ok.addEventListener('click', async () => {
    if (!reason.value.trim() || (dry.in_use && !force.checked)) {
      err.textContent = reason.value.trim() ? 'It is in use: tick “Archive it anyway” to archive it.' : 'A reason is required.';
      err.hidden = false;
      return;
    }
    ok.disabled = true;
    try {
      await post(path, { confirm: true, force: force.checked, reason: reason.value.trim() });
      d.close();
      await onDone?.();
    } catch (e) {
      err.textContent = describe(e);
      err.hidden = false;
      ok.disabled = false;
    }
  });
  d.footer.append(ok);
}

/** The project's archived environments with Restore and Delete (admins). */
export function archivedEnvs({ project, onChange }) {
  const body = h('div', { id: 'archived-envs' });
  async function draw() {
    clear(body);
    let list;
    try {
      list = await get(url('projects', project, 'environments') + query({ archived: true }));
    } catch (e) {
      body.append(h('p', { class: 'form-error', text: describe(e) }));
      return;
    }
    if (!list.length) return;
    body.append(h('h3', { text: 'Archived environments' }), h('ul', { class: 'plain' }, list.map((e) => h('li', { 'data-env': e.key },
      h('code', { text: e.key }), ' archived ', timeEl(e.archived_at), ' ',
      h('button', { type: 'button', class: 'btn btn-small', 'data-action': 'unarchive', text: 'Restore', onclick: () => act(e, false) }), ' ',
      h('button', { type: 'button', class: 'btn btn-small btn-danger-outline', 'data-action': 'delete', text: 'Delete…', onclick: () => act(e, true) })))));
  }
  async function act(e, remove) {
    const reason = await confirmDialog(remove
      ? { title: `Delete ${e.key}?`, message: 'Its configurations, SDK keys and triggers are deleted for good; the audit history stays.', confirmLabel: 'Delete environment', danger: true, reason: true }
      : { title: `Restore ${e.key} from the archive?`, message: 'It is listed and can be changed again.', confirmLabel: 'Restore', reason: true });
    if (!reason) return;
    try {
      if (remove) await del(url('projects', project, 'environments', e.key) + query({ reason }));
      else await post(url('projects', project, 'environments', e.key, 'unarchive'), { reason });
      await onChange?.(remove ? `Deleted ${e.key}.` : `Restored ${e.key}.`);
      draw();
    } catch (err) {
      body.append(h('p', { class: 'form-error', text: describe(err) }));
    }
  }
  draw();
  return { el: body, refresh: draw };
}
