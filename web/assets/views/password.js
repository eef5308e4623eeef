// Password dialogs: change your own (the current password is required;
// your other sessions end and this one continues with a fresh token) and,
// for admins, reset another user's (all of that user's sessions end).

import { post, url, session, ApiError, describe } from '../api.js';
import { h, showErrors } from '../dom.js';
import { openDialog } from '../dialog.js';

function field(id, label, path, autocomplete) {
  const input = h('input', { id, type: 'password', 'data-path': path, autocomplete, required: true });
  return [input, h('div', { class: 'field' }, h('label', { for: id, text: label }), input)];
}

/** A dialog with password fields; `submit(values)` may throw an ApiError shown on the fields. */
function passwordDialog({ title, description, fields, confirmLabel, submit }) {
  const d = openDialog({ title, description });
  const form = h('form', { class: 'stack', novalidate: true }, h('div', { class: 'error-summary', role: 'alert', hidden: true }));
  const inputs = {};
  for (const [id, label, path, autocomplete] of fields) {
    const [input, wrap] = field(id, label, path, autocomplete);
    inputs[path] = input;
    form.append(wrap);
  }
  const ok = h('button', { type: 'submit', class: 'btn btn-primary', text: confirmLabel });
  const cancel = h('button', { type: 'button', class: 'btn', text: 'Cancel', onclick: () => d.close() });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const values = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, v.value]));
    if (values.repeat !== undefined && values.repeat !== (values.new_password ?? values.password)) {
      showErrors(form, [{ path: 'repeat', message: 'The two new passwords differ.' }]);
      return;
    }
    d.setBusy(true);
    try {
      await submit(values);
      d.close(true);
    } catch (err) {
      const errors = err instanceof ApiError && err.errors.length ? err.errors : [{ path: '', message: describe(err) }];
      showErrors(form, errors);
    } finally {
      d.setBusy(false);
    }
  });
  ok.addEventListener('click', (e) => {
    e.preventDefault();
    form.requestSubmit();
  });
  d.body.append(form);
  d.footer.append(cancel, ok);
  return d;
}

/** Change the signed-in user's own password. */
export function changeOwnPassword(app) {
  passwordDialog({
    title: 'Change your password',
    description: 'Your other sessions end; this one continues.',
    confirmLabel: 'Change password',
    fields: [
      ['pw-current', 'Current password', 'current_password', 'current-password'],
      ['pw-new', 'New password (12+ characters)', 'new_password', 'new-password'],
      ['pw-repeat', 'New password again', 'repeat', 'new-password'],
    ],
    async submit(v) {
      const res = await post(url('me', 'password'), { current_password: v.current_password, new_password: v.new_password });
      session.set({ token: res.token, expires_at: res.expires_at, role: res.role, username: res.username });
      app.notify('Password changed. Your other sessions have ended.', { kind: 'success' });
    },
  });
}

/** Reset another user's password (admin). */
export function resetPassword(app, username) {
  passwordDialog({
    title: `Reset the password of “${username}”`,
    description: `All of ${username}’s sessions end; tell them the new password.`,
    confirmLabel: 'Reset password',
    fields: [
      ['pw-reset', 'New password (12+ characters)', 'password', 'new-password'],
      ['pw-reset-repeat', 'New password again', 'repeat', 'new-password'],
    ],
    async submit(v) {
      await post(url('users', username, 'password'), { password: v.password });
      app.notify(`Password of “${username}” reset; their sessions have ended.`, { kind: 'success' });
    },
  });
}
