// A project's lifecycle (global admins): archive in two steps — the dialog
// first shows whether the project is in use (its SDK keys used lately, SDK
// instances connected: the server's dry run, nothing written), then
// archives with a reason (forced when in use); the archived projects, on
// the Projects page, with Restore and Delete.

import { get, post, del, url, describe, query } from './api.js';
import { h, clear, timeEl } from './dom.js';
import { confirmDialog } from './dialog.js';
import { openInUseArchiveDialog } from './archive.js';

/** A project's archive dialog: whether it is in use (the dry run), then archive. */
export function openProjectArchiveDialog({ project, onDone }) {
  return openInUseArchiveDialog({
    path: url('projects', project, 'archive'),
    id: 'project-archive',
    title: `Archive project ${project}?`,
    description: 'An archived project is hidden from the lists and refuses changes; its SDK keys stop working (connected SDKs keep their last flags). Kills still apply.',
    force: 'Archive it anyway (its SDKs lose access)',
    confirm: 'Archive project',
    onDone: () => onDone?.(`Archived ${project}.`),
  });
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
