// A project's API tokens card (issue 19 §5), for the project's admins —
// including users who are admins of this project only: tokens limited to
// this project (…/projects/{project}/tokens), of a role no higher than the
// caller's here (the server refuses more); the secret is shown once.

import { get, post, del, url, describe, effectiveRole } from '../api.js';
import { h, clear, timeEl, select } from '../dom.js';
import { confirmDialog } from '../dialog.js';
import { secretBox } from './keys.js';

const ROLES = ['viewer', 'responder', 'editor', 'admin'];

export function projectTokensCard({ app, project }) {
  const list = h('div', { id: 'ptokens-list' });
  const status = h('p', { class: 'hint', id: 'ptokens-status', role: 'status' });
  const secret = h('div', { id: 'ptokens-secret' });
  const mine = ROLES.indexOf(effectiveRole());
  const name = h('input', { id: 'ptok-name', autocomplete: 'off' });
  const role = select(ROLES.filter((_, i) => i <= mine).map((r) => [r, r]), 'responder', { id: 'ptok-role' });
  const form = h('form', { class: 'stack', id: 'ptok-form', novalidate: true },
    h('h3', { text: 'New token for this project' }),
    h('div', { class: 'grid-2' },
      h('div', { class: 'field' }, h('label', { for: 'ptok-name', text: 'Name (shown in the audit log)' }), name),
      h('div', { class: 'field' }, h('label', { for: 'ptok-role', text: 'Role in this project' }), role)),
    h('div', {}, h('button', { type: 'submit', class: 'btn btn-primary', text: 'Create token' })));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clear(secret);
    try {
      const res = await post(url('projects', project, 'tokens'), { name: name.value.trim(), role: role.value });
      name.value = '';
      secret.append(secretBox(res.secret, 'API token'));
      status.textContent = `Token “${res.token.name}” created (${res.token.role} in ${project}).`;
      await load();
    } catch (err) {
      status.textContent = describe(err);
    }
  });
  const card = h('section', { class: 'card', id: 'ptokens-card', 'aria-labelledby': 'ptokens-h' },
    h('h2', { id: 'ptokens-h', text: 'API tokens of this project' }),
    h('p', { class: 'hint', text: 'For scripts, CI and alerting in this project only. You cannot give a token a higher role than your own here.' }),
    list, status, form, secret);
  load();
  return card;

  async function load() {
    let tokens;
    try {
      tokens = await get(url('projects', project, 'tokens'));
    } catch (err) {
      status.textContent = describe(err);
      return;
    }
    clear(list);
    if (!tokens.length) {
      list.append(h('p', { class: 'muted', id: 'ptokens-empty', text: 'No token of this project yet.' }));
      return;
    }
    list.append(h('table', { class: 'simple', id: 'ptokens-table' },
      h('thead', {}, h('tr', {}, ['Name', 'Role', 'Prefix', 'Created', 'Status', ''].map((t) => h('th', { scope: 'col', text: t })))),
      h('tbody', {}, tokens.map((t) => h('tr', { 'data-token': t.name, 'data-role': t.role, 'data-revoked': t.revoked_at ? 'yes' : 'no' },
        h('td', { 'data-label': 'Name', text: t.name }),
        h('td', { 'data-label': 'Role' }, h('span', { class: `role role-${t.role}`, text: t.role })),
        h('td', { 'data-label': 'Prefix' }, h('code', { text: `${t.prefix}…` })),
        h('td', { 'data-label': 'Created' }, timeEl(t.created_at), ` by ${t.created_by}`),
        h('td', { 'data-label': 'Status' }, t.revoked_at ? h('span', {}, '✕ revoked ', timeEl(t.revoked_at)) : h('span', { text: '✓ active' })),
        h('td', {}, t.revoked_at ? null : h('button', { type: 'button', class: 'btn btn-small btn-danger-outline', 'data-action': 'revoke', text: 'Revoke', 'aria-label': `Revoke token ${t.name}`, onclick: () => revoke(t) })))))));
  }

  async function revoke(t) {
    if (!(await confirmDialog({ title: `Revoke API token “${t.name}”?`, message: 'It stops working at once.', confirmLabel: 'Revoke token', danger: true }))) return;
    try {
      await del(url('projects', project, 'tokens', String(t.id)));
      app.notify?.(`Token “${t.name}” revoked.`, { kind: 'success' });
      status.textContent = `Token “${t.name}” revoked.`;
      await load();
    } catch (err) {
      status.textContent = describe(err);
    }
  }
}
