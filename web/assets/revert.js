// Going back on one flag, two distinct actions, both previewed:
// "Undo this change" (POST …/undo {version}: puts back only the fields that
// one change changed; refused with 409 undo_conflict when later changes
// touched them) and "Restore this version" (POST …/revert {to_version}: the
// whole earlier state). The dialog first asks the server for a dry run and
// shows exactly the diff it would apply, with a prominent warning when the
// flag's serving state changes in a production-like environment; nothing is
// written until the user confirms with a reason.

import { post, url, ApiError, describe } from './api.js';
import { h } from './dom.js';
import { openDialog } from './dialog.js';
import { renderDiff } from './diff.js';

/**
 * Opens the undo (`mode: 'undo'`, `version` = the version the change
 * produced) or restore (`mode: 'restore'`, `version` = the version to
 * restore) dialog. `onDone(result)` runs after a real write.
 */
export async function openRevertDialog({ app, project, env, flag, mode, version, onDone }) {
  const undo = mode === 'undo';
  const path = url('projects', project, 'environments', env, 'flags', flag, undo ? 'undo' : 'revert');
  const body = (extra) => (undo ? { version, ...extra } : { to_version: version, ...extra });
  const envName = app.envName(env);
  const title = undo ? `Undo change v${version} of “${flag}” in ${envName}` : `Restore “${flag}” to version ${version} in ${envName}`;
  let preview;
  try {
    preview = await post(`${path}?dry_run=true`, body({}));
  } catch (e) {
    if (e instanceof ApiError && e.status === 409) return refused({ title, error: e, undo });
    app.error(e);
    return;
  }
  const d = openDialog({
    title,
    className: 'revert-dialog',
    description: undo
      ? `Puts back only what version ${version} changed; everything changed since stays as it is. Written as a new version.`
      : `Writes version ${version}'s whole configuration as a new version: every change made since is reverted (the kill state is kept).`,
  });
  const diff = preview.diff;
  if (diff.warning) {
    d.body.append(h('div', { class: 'revert-warning', id: 'revert-warning', role: 'alert' },
      h('span', { 'aria-hidden': 'true', text: '⚠ ' }), h('strong', { text: diff.warning })));
  }
  d.body.append(h('h3', { class: 'small', text: `Dry run: what will change (now version ${diff.from_version})` }),
    h('div', { id: 'revert-diff' }, renderDiff({ config: diff.before }, { config: diff.after })));
  const cancel = h('button', { type: 'button', class: 'btn', text: diff.changes.length ? 'Cancel' : 'Close', onclick: () => d.close() });
  if (!diff.changes.length) {
    d.body.append(h('p', { id: 'revert-nothing', text: `Nothing would change: ${envName} already has that configuration.` }));
    d.footer.append(cancel);
    return;
  }
  const reasonId = 'revert-reason';
  const reason = h('textarea', { id: reasonId, rows: 2, required: true, 'aria-required': 'true', autofocus: true });
  const err = h('p', { class: 'field-error', hidden: true });
  const form = h('form', { class: 'stack', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: reasonId, text: 'Reason (required)' }), reason, err));
  d.body.append(form);
  const label = undo ? 'Undo this change' : `Restore v${version}`;
  const ok = h('button', { type: 'submit', id: 'revert-confirm', class: `btn btn-primary${diff.warning ? ' btn-danger' : ''}`, text: label });
  d.footer.append(cancel, ok);
  ok.addEventListener('click', (e) => {
    e.preventDefault();
    form.requestSubmit();
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!reason.value.trim()) {
      err.textContent = 'A reason is required.';
      err.hidden = false;
      reason.focus();
      return;
    }
    ok.disabled = true;
    d.setBusy(true);
    try {
      const res = await post(path, body({ reason: reason.value.trim() }));
      d.close();
      onDone?.(res);
    } catch (er) {
      ok.disabled = false;
      d.setBusy(false);
      err.textContent = describe(er);
      err.hidden = false;
    }
  });
}

/** 409: the change cannot be undone (or there is nothing to undo); say why, field by field. */
function refused({ title, error, undo }) {
  const d = openDialog({ title, className: 'revert-dialog' });
  d.body.append(h('div', { class: 'undo-conflict', id: 'undo-conflict', role: 'alert' },
    h('p', {}, h('strong', { text: undo ? 'This change cannot be undone. ' : 'Refused. ' }), error.message),
    error.errors.length ? h('ul', {}, error.errors.map((f) => h('li', {}, h('code', { text: f.path }), ': ', f.message))) : null,
    undo ? h('p', { class: 'hint', text: 'Nothing was written. Restore a whole version from the history instead, or edit the flag.' }) : null));
  d.footer.append(h('button', { type: 'button', class: 'btn', text: 'Close', onclick: () => d.close() }));
}
