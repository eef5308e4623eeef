// A project's members card (issue 19 §5): users' roles in this project.
// There, the higher of a user's global role and this one applies; the
// server refuses a role above the granter's own and, but for global
// admins, changing one's own membership — except stepping down while
// another admin member remains (the last one's button is disabled) — and
// demoting or removing another admin (only global admins may).

import { get, put, del, url, describe } from '../api.js';
import { h, clear, select } from '../dom.js';

const ROLES = [['viewer', 'viewer'], ['responder', 'responder'], ['editor', 'editor'], ['admin', 'admin']];

export function membersCard({ project, me, globalAdmin }) {
  const list = h('div', { id: 'members-list' });
  const status = h('p', { class: 'hint', id: 'members-status', role: 'status' });
  const user = h('input', { id: 'member-user', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'none' });
  const role = select(ROLES, 'editor', { id: 'member-role' });
  const form = h('form', { class: 'stack', id: 'member-form', novalidate: true },
    h('h3', { text: 'Add or change a member' }),
    h('div', { class: 'grid-2' },
      h('div', { class: 'field' }, h('label', { for: 'member-user', text: 'User name' }), user),
      h('div', { class: 'field' }, h('label', { for: 'member-role', text: 'Role in this project' }), role)),
    h('div', {}, h('button', { type: 'submit', class: 'btn btn-primary', text: 'Save member' })));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    await act(() => put(url('projects', project, 'members', user.value.trim()), { role: role.value }), `${user.value.trim()} is ${role.value} in ${project}.`);
  });
  const card = h('section', { class: 'card', id: 'members-card', 'aria-labelledby': 'members-h' },
    h('h2', { id: 'members-h', text: 'Members' }),
    h('p', { class: 'hint', text: 'Roles in this project only. A member gets the higher of this role and their global one here; elsewhere, their global role. You cannot grant more than your own role, nor change your own membership (you may step down while another admin remains). Only a global admin demotes or removes an admin; you can add users who are members of a project you administer.' }),
    list, status, form);
  load();
  return card;

  async function act(call, message) {
    try {
      await call();
      status.textContent = message;
      await load();
    } catch (err) {
      status.textContent = describe(err);
    }
  }

  async function load() {
    let members;
    try {
      members = await get(url('projects', project, 'members'));
    } catch (err) {
      status.textContent = describe(err);
      return;
    }
    clear(list);
    if (!members.length) {
      list.append(h('p', { class: 'muted', id: 'members-empty', text: 'No members: everyone has their global role here.' }));
      return;
    }
    list.append(h('table', { class: 'simple', id: 'members-table' },
      h('thead', {}, h('tr', {}, ['User', 'Role here', 'Global role', 'Granted by', ''].map((t) => h('th', { scope: 'col', text: t })))),
      h('tbody', {}, members.map((m) => {
        const own = m.username === me && !globalAdmin;
        const lastAdmin = own && members.filter((x) => x.role === 'admin').length <= 1;
        return h('tr', { 'data-user': m.username, 'data-role': m.role },
          h('td', { 'data-label': 'User', text: m.username }),
          h('td', { 'data-label': 'Role here', text: m.role }),
          h('td', { 'data-label': 'Global role', text: m.global_role }),
          h('td', { 'data-label': 'Granted by', text: m.granted_by }),
          h('td', {}, h('button', {
            type: 'button', class: 'btn btn-small', 'data-action': 'remove', text: own ? 'Step down' : 'Remove', disabled: lastAdmin,
            title: lastAdmin ? 'You are the last admin member: grant another first' : null,
            onclick: () => act(() => del(url('projects', project, 'members', m.username)), `${m.username} is no longer a member.`),
          })));
      }))));
  }
}
