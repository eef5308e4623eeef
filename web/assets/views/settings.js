// Project settings (admins of the project): the environments in their
// order with their colours (PATCH …/environments/{env}: name, colour,
// position), so production is unmistakable everywhere; and the project's
// members (users' roles in this project only: PUT/DELETE …/members/{user});
// its API tokens (…/tokens: minted by its admins, never above their role);
// archiving an environment (in-use dry run first), restoring or deleting one;
// archiving the project itself (global admins; in-use dry run first).

import { get, patch, post, url, describe, can, session, isGlobalAdmin } from '../api.js';
import { h, clear } from '../dom.js';
import { colorOf, paint } from '../envcolor.js';
import { membersCard } from './members.js';
import { projectTokensCard } from './project_tokens.js';
import { archivedEnvs, openEnvArchiveDialog } from '../archive.js';
import { openProjectArchiveDialog } from '../project_archive.js';

export function render({ app, root, project }) {
  if (!can('admin')) {
    root.append(h('section', { class: 'page' }, h('h1', { text: 'Project settings' }), h('p', { text: 'Only admins of this project can change its settings.' })));
    return null;
  }
  const envs = h('div', { id: 'envs-card-body' });
  const out = h('p', { class: 'hint', id: 'envs-status', role: 'status' });
  const archive = archivedEnvs({ project, onChange: (message) => reload(message) });
  root.append(h('section', { class: 'page' },
    h('div', { class: 'page-head' }, h('h1', { text: 'Project settings' })),
    h('section', { class: 'card', id: 'envs-card', 'aria-labelledby': 'envs-h' },
      h('h2', { id: 'envs-h', text: 'Environments' }),
      h('p', { class: 'hint', text: 'Their order in every list and their colour. Production-like environments (production, prod, live) are shown under a striped banner in their colour.' }),
      envs, out, archive.el, newEnvForm()),
    membersCard({ project, me: session.get()?.username, globalAdmin: isGlobalAdmin() }),
    projectTokensCard({ app, project }),
    isGlobalAdmin() ? projectCard() : null));
  draw();

  function draw() {
    clear(envs);
    const rows = app.envs.map((e, i) => envRow(e, i));
    envs.append(h('table', { class: 'simple env-table', id: 'env-table' },
      h('thead', {}, h('tr', {}, ['', 'Key', 'Name', 'Colour', 'Order', ''].map((t) => h('th', { scope: 'col', text: t })))),
      h('tbody', {}, rows)));
  }

  function envRow(e, i) {
    const name = h('input', { value: e.name || e.key, 'aria-label': `Name of ${e.key}`, 'data-field': 'name' });
    const color = h('input', { type: 'color', value: colorOf(e), 'aria-label': `Colour of ${e.key}`, 'data-field': 'color' });
    name.addEventListener('change', () => update(e, { name: name.value.trim() || undefined }));
    color.addEventListener('change', () => update(e, { color: color.value }));
    return h('tr', { 'data-env': e.key, 'data-color': e.color || '' },
      h('td', {}, paint(h('span', { class: 'env-swatch', 'aria-hidden': 'true' }), e)),
      h('td', { 'data-label': 'Key' }, h('code', { text: e.key })),
      h('td', { 'data-label': 'Name' }, name),
      h('td', { 'data-label': 'Colour' }, color,
        e.color ? h('button', { type: 'button', class: 'btn btn-small', 'data-action': 'clear-color', text: 'Default', onclick: () => update(e, { color: null }) }) : null),
      h('td', { 'data-label': 'Order', class: 'env-actions' },
        h('button', { type: 'button', class: 'btn btn-small', 'data-action': 'up', 'aria-label': `Move ${e.key} up`, text: '▲', disabled: i === 0, onclick: () => move(i, -1) }),
        h('button', { type: 'button', class: 'btn btn-small', 'data-action': 'down', 'aria-label': `Move ${e.key} down`, text: '▼', disabled: i === app.envs.length - 1, onclick: () => move(i, 1) })),
      h('td', {}, h('button', { type: 'button', class: 'btn btn-small btn-danger-outline', 'data-action': 'archive', text: 'Archive…',
        onclick: () => openEnvArchiveDialog({ app, project, env: e.key, onDone: async (message) => { await reload(message); archive.refresh(); } }) })));
  }

  async function update(e, body) {
    try {
      await patch(url('projects', project, 'environments', e.key), body);
      await reload(`Saved ${e.key}.`);
    } catch (err) {
      out.textContent = describe(err);
    }
  }

  /** Swaps two neighbours, then numbers every environment by its place. */
  async function move(i, by) {
    const order = app.envs.slice();
    [order[i], order[i + by]] = [order[i + by], order[i]];
    try {
      for (const [position, e] of order.entries()) {
        if (e.position !== position) await patch(url('projects', project, 'environments', e.key), { position });
      }
      await reload(`Moved ${order[i + by].key}.`);
    } catch (err) {
      out.textContent = describe(err);
    }
  }

  async function reload(message) {
    await app.loadEnvs();
    app.renderTopbar();
    draw();
    out.textContent = message;
  }

  /** Archiving the project (global admins): the in-use check first, in the dialog. */
  function projectCard() {
    return h('section', { class: 'card', id: 'project-card', 'aria-labelledby': 'project-h' },
      h('h2', { id: 'project-h', text: 'Project' }),
      h('p', { class: 'hint', text: 'Archiving hides the project and stops its SDK keys; it can be restored from the Projects page, or deleted there.' }),
      h('button', { type: 'button', class: 'btn btn-danger-outline', id: 'project-archive', text: 'Archive project…',
        onclick: () => openProjectArchiveDialog({ project, onDone: async (message) => {
          app.projects = await get(url('projects'));
          app.notify?.(message, { kind: 'success' });
          app.go('#/projects');
        } }) }));
  }

  function newEnvForm() {
    const key = h('input', { id: 'new-env-key', 'data-path': 'key', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'none' });
    const form = h('form', { class: 'stack', id: 'new-env-form', novalidate: true },
      h('h3', { text: 'New environment' }),
      h('div', { class: 'field' }, h('label', { for: 'new-env-key', text: 'Key' }), key),
      h('div', {}, h('button', { type: 'submit', class: 'btn', text: 'Create environment' })));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      try {
        await post(url('projects', project, 'environments'), { key: key.value.trim() });
        key.value = '';
        await reload('Environment created (its flags start off).');
      } catch (err) {
        out.textContent = describe(err);
      }
    });
    return form;
  }
}
