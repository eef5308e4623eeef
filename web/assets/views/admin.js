// Administration: projects, API tokens (secret shown once, revoke) and users.

import { get, post, del, url, isGlobalAdmin, ApiError, describe } from '../api.js';
import { h, clear, timeEl, select, showErrors } from '../dom.js';
import { confirmDialog } from '../dialog.js';
import { secretBox } from './keys.js';
import { resetPassword } from './password.js';
import { archivedProjects } from '../project_archive.js';

const ROLES = [['viewer', 'viewer — read only'], ['responder', 'responder — read + kill/restore'], ['editor', 'editor — edit flags and segments'], ['admin', 'admin — everything']];

function errorsOf(err, fallback) {
  return err instanceof ApiError && err.errors.length ? err.errors : [{ path: fallback, message: describe(err) }];
}

/** The project list (and, for admins, project creation). */
export function renderProjects({ app, root }) {
  const list = h('ul', { class: 'project-list' }, app.projects.map((p) => h('li', {},
    h('a', { href: `#/projects/${encodeURIComponent(p.key)}/flags`, text: p.name || p.key }), ' ', h('code', { class: 'muted', text: p.key }),
    p.description ? h('p', { class: 'muted', text: p.description }) : null)));
  const page = h('section', { class: 'page' }, h('div', { class: 'page-head' }, h('h1', { text: 'Projects' })),
    app.projects.length ? list : h('p', { class: 'muted', text: isGlobalAdmin() ? 'No project yet: create the first one.' : 'You have no project yet. Ask an admin to create one.' }));
  if (isGlobalAdmin()) {
    const key = h('input', { id: 'proj-key', 'data-path': 'key', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'none' });
    const name = h('input', { id: 'proj-name', 'data-path': 'name', autocomplete: 'off' });
    const envs = h('input', { type: 'checkbox', id: 'proj-envs', checked: true });
    const form = h('form', { class: 'card stack', novalidate: true },
      h('h2', { text: 'New project' }),
      h('div', { class: 'error-summary', role: 'alert', hidden: true }),
      h('div', { class: 'grid-2' },
        h('div', { class: 'field' }, h('label', { for: 'proj-key', text: 'Key' }), key),
        h('div', { class: 'field' }, h('label', { for: 'proj-name', text: 'Name' }), name)),
      h('div', { class: 'check' }, envs, h('label', { for: 'proj-envs', text: 'Create the environments development, staging and production' })),
      h('div', {}, h('button', { type: 'submit', class: 'btn btn-primary', text: 'Create project' })));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      try {
        // One request: the project and its environments in one transaction.
        const environments = envs.checked ? ['development', 'staging', 'production'] : [];
        const p = await post(url('projects'), { key: key.value.trim(), name: name.value.trim() || undefined, environments });
        app.projects = await get(url('projects'));
        app.go(`#/projects/${encodeURIComponent(p.key)}/flags`);
      } catch (err) {
        showErrors(form, errorsOf(err, 'key'));
      }
    });
    page.append(form);
    page.append(archivedProjects({ onChange: async (message) => {
      app.projects = await get(url('projects'));
      app.notify?.(message, { kind: 'success' });
      app.go('#/projects');
    } }).el);
  }
  root.append(page);
}

export function render({ app, root }) {
  if (!isGlobalAdmin()) {
    root.append(h('section', { class: 'page' }, h('h1', { text: 'Admin' }), h('p', { text: 'Only admins can manage tokens and users.' })));
    return;
  }
  let disposed = false;
  const tokens = h('div');
  const users = h('div');
  const tokenOut = h('div');
  root.append(h('section', { class: 'page' },
    h('div', { class: 'page-head' }, h('h1', { text: 'Admin' })),
    h('section', { class: 'card', 'aria-labelledby': 'tokens-h' }, h('h2', { id: 'tokens-h', text: 'API tokens' }),
      h('p', { class: 'hint', text: 'For scripts, CI and alerting. A responder token can only kill and restore.' }), tokens, tokenForm(), tokenOut),
    h('section', { class: 'card', 'aria-labelledby': 'users-h' }, h('h2', { id: 'users-h', text: 'Users' }), users, userForm())));

  function tokenForm() {
    const name = h('input', { id: 'tok-name', 'data-path': 'name', autocomplete: 'off' });
    const role = select(ROLES, 'responder', { id: 'tok-role', 'data-path': 'role' });
    const project = select([['', 'All projects'], ...app.projects.map((p) => [p.key, p.name || p.key])], app.project || '', { id: 'tok-project', 'data-path': 'project' });
    const form = h('form', { class: 'stack', novalidate: true },
      h('h3', { text: 'New API token' }),
      h('div', { class: 'grid-3' },
        h('div', { class: 'field' }, h('label', { for: 'tok-name', text: 'Name (shown in the audit log)' }), name),
        h('div', { class: 'field' }, h('label', { for: 'tok-role', text: 'Role' }), role),
        h('div', { class: 'field' }, h('label', { for: 'tok-project', text: 'Project' }), project)),
      h('div', {}, h('button', { type: 'submit', class: 'btn btn-primary', text: 'Create token' })));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      clear(tokenOut);
      try {
        const res = await post(url('tokens'), { name: name.value.trim(), role: role.value, project: project.value || undefined });
        name.value = '';
        tokenOut.append(secretBox(res.secret, 'API token'));
        drawTokens();
      } catch (err) {
        showErrors(form, errorsOf(err, 'name'));
      }
    });
    return form;
  }

  function userForm() {
    const name = h('input', { id: 'user-name', 'data-path': 'username', autocomplete: 'off', autocapitalize: 'none' });
    const pass = h('input', { id: 'user-pass', type: 'password', 'data-path': 'password', autocomplete: 'new-password' });
    const role = select(ROLES, 'viewer', { id: 'user-role', 'data-path': 'role' });
    const form = h('form', { class: 'stack', novalidate: true },
      h('h3', { text: 'New user' }),
      h('div', { class: 'grid-3' },
        h('div', { class: 'field' }, h('label', { for: 'user-name', text: 'User name' }), name),
        h('div', { class: 'field' }, h('label', { for: 'user-pass', text: 'Password (12+ characters)' }), pass),
        h('div', { class: 'field' }, h('label', { for: 'user-role', text: 'Role' }), role)),
      h('div', {}, h('button', { type: 'submit', class: 'btn btn-primary', text: 'Create user' })));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      try {
        const u = await post(url('users'), { username: name.value.trim(), password: pass.value, role: role.value });
        name.value = '';
        pass.value = '';
        app.notify(`User “${u.username}” created (${u.role}).`, { kind: 'success' });
        drawUsers();
      } catch (err) {
        showErrors(form, errorsOf(err, 'username'));
      }
    });
    return form;
  }

  async function drawTokens() {
    try {
      const list = await get(url('tokens'));
      if (disposed) return;
      clear(tokens);
      if (!list.length) return tokens.append(h('p', { class: 'muted', text: 'No API token yet.' }));
      tokens.append(h('table', { class: 'simple' },
        h('thead', {}, h('tr', {}, ['Name', 'Role', 'Project', 'Prefix', 'Created', 'Status', ''].map((t) => h('th', { scope: 'col', text: t })))),
        h('tbody', {}, list.map((t) => h('tr', {},
          h('td', { 'data-label': 'Name', text: t.name }),
          h('td', { 'data-label': 'Role' }, h('span', { class: `role role-${t.role}`, text: t.role })),
          h('td', { 'data-label': 'Project', text: t.project || 'all' }),
          h('td', { 'data-label': 'Prefix' }, h('code', { text: `${t.prefix}…` })),
          h('td', { 'data-label': 'Created' }, timeEl(t.created_at), ` by ${t.created_by}`),
          h('td', { 'data-label': 'Status' }, t.revoked_at ? h('span', {}, '✕ revoked ', timeEl(t.revoked_at)) : h('span', { text: '✓ active' })),
          h('td', {}, t.revoked_at ? null : h('button', { type: 'button', class: 'btn btn-small btn-danger-outline', text: 'Revoke', 'aria-label': `Revoke token ${t.name}`, onclick: async () => {
            if (!(await confirmDialog({ title: `Revoke API token “${t.name}”?`, message: 'It stops working at once.', confirmLabel: 'Revoke token', danger: true }))) return;
            try {
              await del(url('tokens', String(t.id)));
              app.notify(`Token “${t.name}” revoked.`, { kind: 'success' });
              drawTokens();
            } catch (er) {
              app.error(er);
            }
          } })))))));
    } catch (e) {
      if (!disposed) tokens.append(h('p', { class: 'form-error', text: describe(e) }));
    }
  }

  async function drawUsers() {
    try {
      const list = await get(url('users'));
      if (disposed) return;
      clear(users);
      users.append(h('table', { class: 'simple' },
        h('thead', {}, h('tr', {}, ['User', 'Role', 'Created', ''].map((t) => h('th', { scope: 'col', text: t })))),
        h('tbody', {}, list.map((u) => h('tr', {},
          h('td', { 'data-label': 'User', text: u.username }),
          h('td', { 'data-label': 'Role' }, h('span', { class: `role role-${u.role}`, text: u.role })),
          h('td', { 'data-label': 'Created' }, timeEl(u.created_at)),
          h('td', {}, h('button', { type: 'button', class: 'btn btn-small', text: 'Reset password', 'aria-label': `Reset the password of ${u.username}`, onclick: () => resetPassword(app, u.username) })))))));
    } catch (e) {
      if (!disposed) users.append(h('p', { class: 'form-error', text: describe(e) }));
    }
  }

  drawTokens();
  drawUsers();
  return () => {
    disposed = true;
  };
}
