// SDK keys per environment (admin): the secret is shown once on creation;
// revoking closes the key's open streams. Also lists and creates environments.

import { get, post, del, url, ApiError, describe } from '../api.js';
import { h, clear, timeEl, showErrors, copyButton } from '../dom.js';
import { confirmDialog } from '../dialog.js';

/** The once-only secret display. */
export function secretBox(secret, what) {
  const input = h('input', { type: 'text', readonly: true, value: secret, class: 'secret-value mono', 'aria-label': `New ${what} secret`, spellcheck: 'false' });
  input.addEventListener('focus', () => input.select());
  return h('div', { class: 'secret-box', role: 'status' },
    h('p', {}, h('strong', { text: `Copy the ${what} now.` }), ' It is stored hashed and will not be shown again.'),
    h('div', { class: 'secret-row' }, input, copyButton(secret)));
}

export function render({ app, root, project }) {
  let disposed = false;
  const sections = h('div', { class: 'stack' });
  root.append(h('section', { class: 'page' },
    h('div', { class: 'page-head' }, h('h1', { text: 'SDK keys and environments' })),
    h('p', { class: 'hint', text: 'Each SDK key belongs to one environment. Applications use it to read flags; it cannot change anything.' }),
    sections, envCreate()));

  function envSection(env) {
    const box = h('section', { class: 'card', 'aria-labelledby': `keys-${env.key}` });
    const list = h('div');
    const name = h('input', { id: `key-name-${env.key}`, 'data-path': 'name', autocomplete: 'off', placeholder: 'e.g. checkout-service' });
    const out = h('div');
    const form = h('form', { class: 'inline-form', novalidate: true },
      h('div', { class: 'field grow' }, h('label', { for: `key-name-${env.key}`, text: 'New key for (service name)' }), name),
      h('button', { type: 'submit', class: 'btn btn-primary', text: 'Create SDK key' }));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      clear(out);
      try {
        const res = await post(url('projects', project, 'environments', env.key, 'sdk-keys'), { name: name.value.trim() });
        name.value = '';
        out.append(secretBox(res.secret, 'SDK key'));
        draw();
      } catch (err) {
        showErrors(form, err instanceof ApiError && err.errors.length ? err.errors : [{ path: 'name', message: describe(err) }]);
      }
    });
    async function draw() {
      try {
        const keys = await get(url('projects', project, 'environments', env.key, 'sdk-keys'));
        if (disposed) return;
        clear(list);
        if (!keys.length) {
          list.append(h('p', { class: 'muted', text: 'No SDK key yet.' }));
          return;
        }
        list.append(h('table', { class: 'simple' },
          h('thead', {}, h('tr', {}, ['Name', 'Prefix', 'Created', 'Status', ''].map((t) => h('th', { scope: 'col', text: t })))),
          h('tbody', {}, keys.map((k) => h('tr', {},
            h('td', { 'data-label': 'Name', text: k.name }),
            h('td', { 'data-label': 'Prefix' }, h('code', { text: `${k.prefix}…` })),
            h('td', { 'data-label': 'Created' }, timeEl(k.created_at)),
            h('td', { 'data-label': 'Status' }, k.revoked_at ? h('span', {}, '✕ revoked ', timeEl(k.revoked_at)) : h('span', { text: '✓ active' })),
            h('td', {}, k.revoked_at ? null : h('button', { type: 'button', class: 'btn btn-small btn-danger-outline', text: 'Revoke', 'aria-label': `Revoke SDK key ${k.name}`, onclick: async () => {
              if (!(await confirmDialog({ title: `Revoke SDK key “${k.name}”?`, message: `Applications using it in ${app.envName(env.key)} stop receiving flags at once (their SDKs keep the last known values).`, confirmLabel: 'Revoke key', danger: true }))) return;
              try {
                await del(url('projects', project, 'environments', env.key, 'sdk-keys', String(k.id)));
                app.notify(`SDK key “${k.name}” revoked.`, { kind: 'success' });
                draw();
              } catch (er) {
                app.error(er);
              }
            } })))))));
      } catch (e) {
        if (!disposed) list.append(h('p', { class: 'form-error', text: describe(e) }));
      }
    }
    box.append(h('h2', { id: `keys-${env.key}`, text: `${env.name || env.key}` }), h('p', { class: 'muted small', text: `environment key ${env.key} · revision ${env.revision}` }), list, form, out);
    draw();
    return box;
  }

  function envCreate() {
    const key = h('input', { id: 'env-key', 'data-path': 'key', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'none' });
    const name = h('input', { id: 'env-name', 'data-path': 'name', autocomplete: 'off' });
    const form = h('form', { class: 'card stack', novalidate: true },
      h('h2', { text: 'New environment' }),
      h('div', { class: 'error-summary', role: 'alert', hidden: true }),
      h('div', { class: 'grid-2' },
        h('div', { class: 'field' }, h('label', { for: 'env-key', text: 'Key' }), key),
        h('div', { class: 'field' }, h('label', { for: 'env-name', text: 'Name' }), name)),
      h('div', {}, h('button', { type: 'submit', class: 'btn', text: 'Create environment' })));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      try {
        const env = await post(url('projects', project, 'environments'), { key: key.value.trim(), name: name.value.trim() || undefined });
        app.notify(`Environment “${env.key}” created.`, { kind: 'success' });
        await app.loadEnvs();
        app.renderTopbar();
        sections.append(envSection(env));
        key.value = '';
        name.value = '';
      } catch (err) {
        showErrors(form, err instanceof ApiError && err.errors.length ? err.errors : [{ path: 'key', message: describe(err) }]);
      }
    });
    return form;
  }

  for (const env of app.envs) sections.append(envSection(env));
  return () => {
    disposed = true;
  };
}
