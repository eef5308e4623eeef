// Outgoing webhooks of a project (admin): create (the signing secret is
// shown once), delete, and each webhook's delivery history (status,
// attempts, last answer) so a responder can see whether the incident
// channel actually heard about a kill.

import { get, post, del, url, ApiError, describe } from '../api.js';
import { h, clear, timeEl, showErrors } from '../dom.js';
import { confirmDialog } from '../dialog.js';
import { secretBox } from './keys.js';

const EVENTS = [
  ['flag.killed', 'Flag killed'],
  ['flag.restored', 'Flag restored'],
  ['env.panic', 'Panic button (many flags killed at once)'],
  ['flag.changed', 'Every other change (toggles, targeting, segments…)'],
];
const DEFAULT_EVENTS = ['flag.killed', 'flag.restored', 'env.panic'];
const STATUS_TEXT = { pending: '… pending', delivered: '✓ delivered', dead: '✕ gave up' };

export function render({ app, root, project }) {
  let disposed = false;
  const list = h('div');
  const out = h('div');
  const history = h('div', { id: 'webhook-deliveries' });
  root.append(h('section', { class: 'page' },
    h('div', { class: 'page-head' }, h('h1', { text: 'Webhooks' })),
    h('p', { class: 'hint', text: 'Switchyard POSTs a signed JSON notification (HMAC-SHA256, header X-Switchyard-Signature) to these URLs, retried with backoff until the receiver answers 2xx. Use them to tell an incident channel about kills.' }),
    h('section', { class: 'card', 'aria-labelledby': 'hooks-h' }, h('h2', { id: 'hooks-h', text: 'Webhooks of this project' }), list, createForm(), out),
    history));

  function createForm() {
    const target = h('input', { id: 'hook-url', type: 'url', 'data-path': 'url', autocomplete: 'off', spellcheck: 'false', placeholder: 'https://chat.example.com/hooks/incidents' });
    const boxes = EVENTS.map(([value, label]) => {
      const id = `hook-ev-${value.replace('.', '-')}`;
      return { value, box: h('input', { type: 'checkbox', id, value, checked: DEFAULT_EVENTS.includes(value) }), label: h('label', { for: id, text: label }) };
    });
    const form = h('form', { class: 'stack', novalidate: true },
      h('h3', { text: 'New webhook' }),
      h('div', { class: 'error-summary', role: 'alert', hidden: true }),
      h('div', { class: 'field' }, h('label', { for: 'hook-url', text: 'URL' }), target),
      h('fieldset', { class: 'stack', 'data-path': 'events' }, h('legend', { text: 'Notify on' }),
        ...boxes.map((b) => h('div', { class: 'check' }, b.box, b.label))),
      h('div', {}, h('button', { type: 'submit', class: 'btn btn-primary', text: 'Create webhook' })));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      clear(out);
      const events = boxes.filter((b) => b.box.checked).map((b) => b.value);
      try {
        const res = await post(url('projects', project, 'webhooks'), { url: target.value.trim(), events });
        target.value = '';
        out.append(secretBox(res.secret, 'signing secret'));
        draw();
      } catch (err) {
        showErrors(form, err instanceof ApiError && err.errors.length ? err.errors : [{ path: 'url', message: describe(err) }]);
      }
    });
    return form;
  }

  async function draw() {
    try {
      const hooks = await get(url('projects', project, 'webhooks'));
      if (disposed) return;
      clear(list);
      if (!hooks.length) {
        list.append(h('p', { class: 'muted', text: 'No webhook yet.' }));
        return;
      }
      list.append(h('table', { class: 'simple', id: 'webhook-table' },
        h('thead', {}, h('tr', {}, ['URL', 'Events', 'Secret', 'Created', 'Status', ''].map((t) => h('th', { scope: 'col', text: t })))),
        h('tbody', {}, hooks.map((w) => h('tr', {},
          h('td', { 'data-label': 'URL' }, h('code', { text: w.url })),
          h('td', { 'data-label': 'Events', text: w.events.join(', ') }),
          h('td', { 'data-label': 'Secret' }, h('code', { text: `${w.secret_prefix}…` })),
          h('td', { 'data-label': 'Created' }, timeEl(w.created_at), ` by ${w.created_by}`),
          h('td', { 'data-label': 'Status' }, w.disabled_at ? h('span', {}, '✕ deleted ', timeEl(w.disabled_at)) : h('span', { text: '✓ active' })),
          h('td', {},
            h('button', { type: 'button', class: 'btn btn-small', text: 'Deliveries', 'aria-label': `Deliveries of ${w.url}`, onclick: () => showDeliveries(w) }),
            w.disabled_at ? null : h('button', { type: 'button', class: 'btn btn-small btn-danger-outline', text: 'Delete', 'aria-label': `Delete webhook ${w.url}`, onclick: async () => {
              if (!(await confirmDialog({ title: 'Delete this webhook?', message: `${w.url} gets no further notifications; pending deliveries are dropped.`, confirmLabel: 'Delete webhook', danger: true }))) return;
              try {
                await del(url('projects', project, 'webhooks', String(w.id)));
                app.notify('Webhook deleted.', { kind: 'success' });
                draw();
              } catch (er) {
                app.error(er);
              }
            } })))))));
    } catch (e) {
      if (!disposed) list.append(h('p', { class: 'form-error', text: describe(e) }));
    }
  }

  async function showDeliveries(w) {
    clear(history);
    const body = h('div');
    const refresh = h('button', { type: 'button', class: 'btn btn-small', text: 'Refresh', onclick: () => load() });
    history.append(h('section', { class: 'card', 'aria-labelledby': 'deliveries-h' },
      h('div', { class: 'page-head' }, h('h2', { id: 'deliveries-h', text: `Deliveries to ${w.url}` }), refresh), body));
    async function load() {
      try {
        const rows = await get(`${url('projects', project, 'webhooks', String(w.id), 'deliveries')}?limit=50`);
        if (disposed) return;
        clear(body);
        if (!rows.length) {
          body.append(h('p', { class: 'muted', text: 'Nothing sent yet.' }));
          return;
        }
        body.append(h('table', { class: 'simple' },
          h('thead', {}, h('tr', {}, ['Event', 'Status', 'Attempts', 'Answer', 'Written', 'Delivered', 'Delivery id'].map((t) => h('th', { scope: 'col', text: t })))),
          h('tbody', {}, rows.map((d) => h('tr', { 'data-status': d.status },
            h('td', { 'data-label': 'Event', text: d.event }),
            h('td', { 'data-label': 'Status', text: STATUS_TEXT[d.status] || d.status }),
            h('td', { 'data-label': 'Attempts', text: String(d.attempts) }),
            h('td', { 'data-label': 'Answer', text: [d.response_status ? `HTTP ${d.response_status}` : '', d.last_error || ''].filter(Boolean).join(' · ') || '—' }),
            h('td', { 'data-label': 'Written' }, timeEl(d.created_at)),
            h('td', { 'data-label': 'Delivered' }, d.delivered_at ? timeEl(d.delivered_at) : (d.next_attempt_at ? h('span', {}, 'next try ', timeEl(d.next_attempt_at)) : '—')),
            h('td', { 'data-label': 'Delivery id' }, h('code', { class: 'small', text: d.delivery_id })))))));
      } catch (e) {
        if (!disposed) body.append(h('p', { class: 'form-error', text: describe(e) }));
      }
    }
    await load();
    history.querySelector('h2')?.focus?.();
  }

  draw();
  return () => {
    disposed = true;
  };
}
