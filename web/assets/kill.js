// Kill switch, restore and panic (kill by tag) dialogs with the live
// delivery receipt (`?wait=5s`): "applied by N / M connected SDK
// instances in X ms". The kill and panic dialogs show the blast radius
// (blast.js) while the responder types the reason.

import { api, url, ApiError, describe } from './api.js';
import { h, clear, showErrors, select } from './dom.js';
import { openDialog } from './dialog.js';
import { blastPanel } from './blast.js';

const WAIT = '5s';

/** The receipt as one sentence plus details. */
export function receiptView(receipt, revision) {
  const box = h('div', { class: 'receipt' });
  if (!receipt) {
    box.append(h('p', { class: 'receipt-main', text: `Written at revision ${revision ?? '–'}.` }));
    return box;
  }
  const ms = Math.round(receipt.max_ms ?? 0);
  const unanswered = receipt.unanswered ?? [];
  const complete = receipt.pending === 0 && unanswered.length === 0;
  box.classList.add(complete ? 'receipt-complete' : 'receipt-pending');
  box.append(h('p', { class: 'receipt-main' },
    h('span', { 'aria-hidden': 'true', class: 'receipt-icon', text: complete ? '✓ ' : '◔ ' }),
    complete
      ? `Applied by ${receipt.applied} / ${receipt.connected} connected SDK instances in ${ms} ms`
      : `Applied by ${receipt.applied} / ${receipt.connected} connected SDK instances after ${ms} ms — ${receipt.pending} still pending after ${WAIT}`));
  if (unanswered.length > 0) {
    box.append(h('p', { class: 'muted', text: `${unanswered.length} server replica(s) did not answer in time; SDK instances connected to them are not counted.` }));
  }
  if (receipt.connected === 0) {
    box.append(h('p', { class: 'muted', text: 'No SDK instance is connected to this environment right now; SDKs that connect or poll get this revision.' }));
  }
  const dl = h('dl', { class: 'receipt-details' },
    h('dt', { text: 'Revision' }), h('dd', { text: String(receipt.revision ?? revision ?? '–') }),
    h('dt', { text: 'Median' }), h('dd', { text: receipt.p50_ms == null ? '–' : `${Math.round(receipt.p50_ms)} ms` }),
    h('dt', { text: 'Slowest' }), h('dd', { text: receipt.max_ms == null ? '–' : `${Math.round(receipt.max_ms)} ms` }));
  box.append(dl);
  return box;
}

function progress(status, text) {
  clear(status);
  status.append(h('span', { class: 'spinner', 'aria-hidden': 'true' }), ' ', text);
}

/**
 * The shared flow: a form (reason, optional incident), then the call, then
 * the receipt inside the same dialog. `send(reason, incident)` performs the
 * request and returns the API answer.
 */
function actionDialog({ title, description, confirmLabel, danger, incident = true, extra, send, done, summary }) {
  const d = openDialog({ title, description, className: danger ? 'dialog-danger' : '' });
  const reason = h('textarea', { id: 'kill-reason', rows: 3, required: true, 'aria-required': 'true', 'data-path': 'reason', autofocus: true, placeholder: 'e.g. checkout errors spiking after deploy' });
  const inc = incident ? h('input', { id: 'kill-incident', 'data-path': 'incident', placeholder: 'e.g. INC-1234', autocomplete: 'off' }) : null;
  const status = h('div', { class: 'dialog-status', role: 'status', 'aria-live': 'polite' });
  const form = h('form', { class: 'stack', novalidate: true },
    extra || null,
    h('div', { class: 'error-summary', role: 'alert', hidden: true }),
    h('div', { class: 'field' }, h('label', { for: 'kill-reason', text: 'Reason (required)' }), reason),
    inc ? h('div', { class: 'field' }, h('label', { for: 'kill-incident', text: 'Incident id (optional)' }), inc) : null);
  const submit = h('button', { type: 'submit', class: danger ? 'btn btn-danger' : 'btn btn-primary', text: confirmLabel, id: 'dialog-confirm' });
  const cancel = h('button', { type: 'button', class: 'btn', text: 'Cancel', onclick: () => d.close() });
  form.append(h('div', { class: 'dialog-actions' }, cancel, submit));
  d.body.append(form, status);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!reason.value.trim()) {
      showErrors(form, [{ path: 'reason', message: 'A reason is required: it goes into the audit log.' }]);
      return;
    }
    submit.disabled = true;
    cancel.disabled = true;
    d.setBusy(true);
    progress(status, `Sending… waiting up to ${WAIT} for connected SDK instances to apply it.`);
    try {
      const res = await send(reason.value.trim(), inc?.value.trim() || undefined);
      d.setBusy(false);
      form.remove();
      clear(status);
      status.append(h('p', { class: 'receipt-title' }, summary(res)), receiptView(res.receipt, res.revision));
      const close = h('button', { type: 'button', class: 'btn btn-primary', text: 'Close', onclick: () => d.close() });
      d.footer.append(close);
      close.focus();
      done?.(res);
    } catch (err) {
      d.setBusy(false);
      submit.disabled = false;
      cancel.disabled = false;
      clear(status);
      if (err instanceof ApiError && err.status === 422) showErrors(form, err.errors);
      else showErrors(form, [{ path: '', message: describe(err) }]);
    }
  });
  return d;
}

export function openKillDialog({ app, project, env, flag, offVariant, onDone }) {
  const envName = app.envName(env);
  const blast = blastPanel();
  blast.load(project, env, { flags: [flag] });
  return actionDialog({
    title: `Kill “${flag}” in ${envName}`,
    description: `Every SDK in ${envName} serves the off variant${offVariant ? ` “${offVariant}”` : ''} for this flag, whatever its targeting says, until someone restores it.`,
    confirmLabel: `Kill in ${envName}`,
    danger: true,
    extra: blast.box,
    send: (reason, incident) => api('POST', url('projects', project, 'environments', env, 'flags', flag, 'kill') + `?wait=${WAIT}`, { reason, incident }),
    summary: (res) => res.changed === false ? `“${flag}” was already killed in ${envName}.` : `“${flag}” is killed in ${envName}.`,
    done: onDone,
  });
}

export function openRestoreDialog({ app, project, env, flag, onDone }) {
  const envName = app.envName(env);
  return actionDialog({
    title: `Restore “${flag}” in ${envName}`,
    description: `Lifts the kill: ${envName} serves the flag's configured targeting again.`,
    confirmLabel: `Restore in ${envName}`,
    incident: false,
    send: (reason) => api('DELETE', url('projects', project, 'environments', env, 'flags', flag, 'kill') + `?wait=${WAIT}`, { reason }),
    summary: (res) => res.changed === false ? `“${flag}” was not killed in ${envName}.` : `“${flag}” is restored in ${envName}.`,
    done: onDone,
  });
}

/** The panic button: kill every flag with a tag in one environment, in one revision. */
export function openPanicDialog({ app, project, flags, onDone }) {
  const tags = [...new Set(flags.flatMap((f) => f.tags || []))].sort();
  const envSel = select(app.envs.map((e) => [e.key, e.name || e.key]), app.env, { id: 'panic-env', 'data-path': 'environment' });
  const tagSel = select([['', 'Choose a tag…'], ...tags.map((t) => [t, t])], '', { id: 'panic-tag', 'data-path': 'tag', required: true });
  const preview = h('p', { class: 'panic-preview', 'aria-live': 'polite' });
  const blast = blastPanel();
  const update = () => {
    blast.load(project, envSel.value, { tag: tagSel.value });
    const tag = tagSel.value;
    const hit = flags.filter((f) => (f.tags || []).includes(tag));
    clear(preview);
    if (!tag) preview.textContent = 'Choose the tag of the flags to kill.';
    else preview.append(h('strong', { text: `${hit.length} flag${hit.length === 1 ? '' : 's'}` }), ` tagged “${tag}” will be killed in ${app.envName(envSel.value)}: `,
      hit.slice(0, 12).map((f) => f.key).join(', ') + (hit.length > 12 ? `, … (${hit.length - 12} more)` : ''));
  };
  tagSel.addEventListener('change', update);
  envSel.addEventListener('change', update);
  update();
  const extra = h('div', { class: 'stack' },
    h('div', { class: 'grid-2' },
      h('div', { class: 'field' }, h('label', { for: 'panic-env', text: 'Environment' }), envSel),
      h('div', { class: 'field' }, h('label', { for: 'panic-tag', text: 'Tag' }), tagSel)),
    preview, blast.box);
  let usedEnv = null;
  return actionDialog({
    title: 'Panic: kill flags by tag',
    description: 'Kills every flag carrying the tag in one environment, as one change. Restore each flag afterwards, or restore the environment to a time from the audit page.',
    confirmLabel: 'Kill all tagged flags',
    danger: true,
    extra,
    send: (reason, incident) => {
      if (!tagSel.value) return Promise.reject(new ApiError(422, { errors: [{ path: 'tag', message: 'Choose a tag.' }], detail: 'Choose a tag.' }));
      usedEnv = envSel.value;
      return api('POST', url('projects', project, 'environments', usedEnv, 'kill') + `?wait=${WAIT}`, { tag: tagSel.value, reason, incident });
    },
    summary: (res) => `${(res.value || []).length} flag(s) tagged “${tagSel.value}” killed in ${app.envName(usedEnv)}.`,
    done: onDone,
  });
}
