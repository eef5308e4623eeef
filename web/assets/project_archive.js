// A project's lifecycle (global admins): archive in two steps — the dialog
// first shows whether the project is in use (its SDK keys used lately, SDK
// instances connected: the server's dry run, nothing written), then
// archives with a reason (forced when in use); the archived projects, on
// the Projects page, with Restore and Delete.

import { get, post, del, url, describe, query } from './api.js';
import { h, clear, timeEl } from './dom.js';
import { openDialog, confirmDialog } from './dialog.js';

/** A project's archive dialog: whether it is in use (the dry run), then archive. */
export async function openProjectArchiveDialog({ project, onDone }) {
  const path = url('projects', project, 'archive');
  const d = openDialog({ title: `Archive project ${project}?`, description: 'An archived project is hidden from the lists and refuses changes; its SDK keys stop working (connected SDKs keep their last flags). Kills still apply.', className: 'project-archive-dialog' });
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
  d.body.append(h('p', { id: 'project-archive-usage', class: dry.in_use ? 'conflict' : 'muted', 'data-in-use': String(dry.in_use), text: dry.in_use
    ? `In use: ${dry.keys_used.length} SDK key(s) used in the last ${dry.days} days${keys ? ` (${keys})` : ''}, ${dry.connected} SDK instance(s) connected.`
    : `Not in use: no SDK key used in the last ${dry.days} days, no SDK instance connected.` }));
  const force = h('input', { type: 'checkbox', id: 'project-archive-force' });
  if (dry.in_use) d.body.append(h('div', { class: 'field' }, h('label', {}, force, ' Archive it anyway (its SDKs lose access)')));
  const reason = h('textarea', { rows: 2, id: 'project-archive-reason', name: 'reason', required: true, 'aria-required': 'true' });
  const err = h('p', { class: 'field-error', id: 'project-archive-error', hidden: true });
  d.body.append(h('div', { class: 'field' }, h('label', { for: 'project-archive-reason', text: 'Reason' }), reason, err));
  const ok = h('button', { type: 'button', class: 'btn btn-danger', id: 'project-archive-confirm', text: 'Archive project' });
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
      await onDone?.(`Archived ${project}.`);
    } catch (e) {
      err.textContent = describe(e);
      err.hidden = false;
      ok.disabled = false;
    }
  });
  d.footer.append(ok);
}

/** The archived projects with Restore and Delete (global admins). */
export function archivedProjects({ onChange }) {
  const body = h('div', { id: 'archived-projects' });
  async function draw() {
    clear(body);
    let list;
    try {
      list = await get(url('projects') + query({ archived: true }));
    } catch (e) {
      body.append(h('p', { class: 'form-error', text: describe(e) }));
      return;
    }
    if (!list.length) return;
    body.append(h('section', { class: 'card' }, h('h2', { text: 'Archived projects' }), h('ul', { class: 'plain' }, list.map((p) => h('li', { 'data-project': p.key },
      h('code', { text: p.key }), ' archived ', timeEl(p.archived_at), ' ',
      h('button', { type: 'button', class: 'btn btn-small', 'data-action': 'unarchive', text: 'Restore', onclick: () => act(p, false) }), ' ',
      h('button', { type: 'button', class: 'btn btn-small btn-danger-outline', 'data-action': 'delete', text: 'Delete…', onclick: () => act(p, true) }))))));
  }
  async function act(p, remove) {
    const reason = await confirmDialog(remove
      ? { title: `Delete project ${p.key}?`, message: 'Its environments, flags, segments, SDK keys, webhooks and API tokens are deleted for good; the audit history stays.', confirmLabel: 'Delete project', danger: true, reason: true }
      : { title: `Restore ${p.key} from the archive?`, message: 'It is listed and can be changed again; its SDK keys work again.', confirmLabel: 'Restore', reason: true });
    if (!reason) return;
    try {
      if (remove) await del(url('projects', p.key) + query({ reason }));
      else await post(url('projects', p.key, 'unarchive'), { reason });
      await onChange?.(remove ? `Deleted ${p.key}.` : `Restored ${p.key}.`);
      draw();
    } catch (err) {
      body.append(h('p', { class: 'form-error', text: describe(err) }));
    }
  }
  draw();
  return { el: body, refresh: draw };
}
