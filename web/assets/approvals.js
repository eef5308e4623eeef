// The flag page's change requests card, in an environment whose approval
// policy asks for approvals (GET …/environments/{env}/approval-policy):
// the flag's change requests (GET …/change-requests, filtered to this
// flag) with their diff, approvals and comments, and the buttons Approve,
// Apply, Cancel and Comment (POST …/change-requests/{id}/{action}). The
// flag page opens a request instead of writing when the policy is on
// (openChangeRequest). Kills and restores never come here.
//
// Admins also get the policy itself (policyForm: PUT …/approval-policy).
//
// For tests: the card's data-state is `loading`, `error`, `none` or `some`;
// each request is an <li data-id="…" data-state="open|applied|cancelled"
// data-approvals="n">.

import { get, post, put, url, can, describe, session } from './api.js';
import { h, clear, timeEl, field, select } from './dom.js';
import { confirmDialog } from './dialog.js';
import { describeChange } from './schedule.js';

const STATE_TEXT = { open: 'Open', applied: 'Applied', cancelled: 'Cancelled' };
const STATE_CLASS = { open: 'state-off', applied: 'state-on', cancelled: 'state-none' };

/** The environment's approval policy ({ approvals: 0 } when off or unreadable). */
export async function approvalPolicy(project, env) {
  try {
    return await get(url('projects', project, 'environments', env, 'approval-policy'));
  } catch {
    return { approvals: 0 };
  }
}

/** Opens a change request of `flag` in `env`; resolves with it. */
export function openChangeRequest({ project, env, flag, change, reason }) {
  return post(url('projects', project, 'environments', env, 'flags', flag, 'change-requests'), { change, reason: reason || null });
}

/** The change requests card. Returns { el, refresh }. */
export function changeRequestsCard({ app, project, env, envName, flag, policy, onApplied }) {
  const el = h('div', { class: 'card change-requests-card', id: 'change-requests-card', 'data-state': 'loading' });
  const list = h('ol', { class: 'change-requests', id: 'change-requests' });
  const status = h('p', { class: 'muted', text: 'Loading change requests…' });
  el.append(h('div', { class: 'card-head' }, h('h2', { text: `Change requests in ${envName}` })),
    h('p', { class: 'hint', id: 'approval-policy', text: `Changes here need ${policy.approvals} approval(s) by a${policy.approver_role === 'admin' ? 'n admin' : 'n editor'} other than their author. Kills and restores never wait.` }),
    status, list);
  const base = (...rest) => url('projects', project, 'environments', env, 'change-requests', ...rest);
  let token = 0;

  async function refresh() {
    const mine = ++token;
    let requests;
    try {
      requests = (await get(base())).filter((r) => r.flag === flag);
    } catch (e) {
      if (mine !== token) return;
      el.dataset.state = 'error';
      status.textContent = `Change requests could not be loaded: ${describe(e)}`;
      return;
    }
    if (mine !== token) return;
    el.dataset.state = requests.length ? 'some' : 'none';
    status.textContent = requests.length ? '' : 'No change requests for this flag here.';
    clear(list);
    for (const r of requests) list.append(item(r));
  }

  function item(r) {
    const approvers = r.notes.filter((n) => n.kind === 'approval').map((n) => n.author);
    const me = session.get()?.username;
    const li = h('li', { class: 'change-request', 'data-id': String(r.id), 'data-state': r.state, 'data-approvals': String(approvers.length) },
      h('div', {}, h('span', { class: `state ${STATE_CLASS[r.state] || 'state-none'}`, text: STATE_TEXT[r.state] || r.state }), ' ',
        h('strong', { text: describeChange(r.change) }),
        h('span', { class: 'muted small', text: ` by ${r.author}${r.reason ? `: ${r.reason}` : ''}, ` }), timeEl(r.created_at)),
      h('table', { class: 'diff-table small' }, h('tbody', {}, r.diff.map((d) => h('tr', { 'data-field': d.field },
        h('th', { text: d.field }), h('td', {}, h('code', { text: JSON.stringify(d.before) })), h('td', { 'aria-hidden': 'true', text: '→' }),
        h('td', {}, h('code', { text: JSON.stringify(d.after) })))))),
      h('p', { class: 'small approvals-line', text: `${approvers.length} of ${policy.approvals} approval(s)${approvers.length ? `: ${approvers.join(', ')}` : ''}` }),
      h('ul', { class: 'notes small' }, r.notes.filter((n) => n.body).map((n) => h('li', {}, h('strong', { text: n.author }), `: ${n.body}`))));
    if (r.state === 'open' && can('edit')) {
      const bar = h('div', { class: 'release-actions' });
      const button = (label, action, run) => bar.append(h('button', { type: 'button', class: 'btn btn-small', 'data-action': action, text: label, onclick: run }));
      if (r.author !== me) button('Approve', 'approve', () => act(r, 'approve', {}));
      if (approvers.length >= policy.approvals) button('Apply', 'apply', () => act(r, 'apply', {}));
      button('Comment', 'comment', () => comment(r));
      button('Cancel', 'cancel', () => act(r, 'cancel', {}));
      li.append(bar);
    }
    return li;
  }

  async function act(r, action, body) {
    try {
      const res = await post(base(String(r.id), action), body);
      app.notify(`Change request ${r.id}: ${action} done.`, { kind: 'success' });
      if (action === 'apply') onApplied?.(res);
    } catch (e) {
      app.notify(`Change request ${r.id}: ${action} failed: ${describe(e)}`, { kind: 'error', timeout: 0 });
    }
    refresh();
  }

  async function comment(r) {
    const text = await confirmDialog({ title: `Comment on change request ${r.id}`, confirmLabel: 'Comment', reason: true, reasonLabel: 'Comment' });
    if (typeof text === 'string') await act(r, 'comments', { body: text });
  }

  refresh();
  return { el, refresh };
}

/** An admin's control of the environment's approval policy, folded under its summary. */
export function policyForm({ app, project, env, envName, policy, onSaved }) {
  const approvals = h('input', { type: 'number', id: 'policy-approvals', min: '0', max: '10', step: '1', value: String(policy.approvals || 0), 'data-path': 'approvals' });
  const role = select([['editor', 'Editors and admins'], ['admin', 'Admins only']], policy.approver_role || 'editor', { id: 'policy-role', 'data-path': 'approver_role' });
  const save = h('button', { type: 'submit', class: 'btn btn-small', id: 'policy-save', text: 'Save the policy' });
  const form = h('form', { class: 'policy-form', id: 'policy-form', novalidate: true },
    field('Approvals each change needs (0: off)', approvals), field('Who may approve (never the author)', role), save);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    save.disabled = true;
    try {
      const saved = await put(url('projects', project, 'environments', env, 'approval-policy'), { approvals: Number(approvals.value), approver_role: role.value });
      app.notify(saved.approvals ? `Changes in ${envName} now need ${saved.approvals} approval(s).` : `Approvals are off in ${envName}.`, { kind: 'success' });
      onSaved?.(saved);
    } catch (e) {
      app.notify(`Saving the approval policy failed: ${describe(e)}`, { kind: 'error', timeout: 0 });
    } finally {
      save.disabled = false;
    }
  });
  const summary = policy.approvals ? `${policy.approvals} approval(s) needed` : 'off';
  return h('details', { class: 'card policy-details', id: 'policy-details' }, h('summary', { text: `Approvals in ${envName}: ${summary}` }), form);
}
