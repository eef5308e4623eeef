// The flag page's scheduled changes card: the flag's scheduled changes in
// the selected environment (GET …/environments/{env}/scheduled, filtered
// to this flag) — when, what, who asked, and what became of each — a form
// to schedule one (POST …/flags/{flag}/schedule: turn on or off, serve a
// variant, a percentage rollout of a variant, the off variant, the
// fail-safe variant (or none), a prerequisite (or none)) and a Cancel button on
// pending ones (POST …/scheduled/{id}/cancel). Changes are applied by the
// server's scheduler, audited as `scheduler` on behalf of the requester.
// Live: the flag page calls refresh() when the flag changes on the stream
// (an applied change is a configuration write); the card polls while the
// page is visible for the rest (a change scheduled elsewhere).
//
// For tests: the card's data-state is `loading`, `error`, `none` or `some`;
// each change is an <li data-id="…" data-state="pending|applied|cancelled|failed">.

import { get, post, url, can, describe } from './api.js';
import { h, clear, timeEl, field, select, showErrors, clearErrors } from './dom.js';
import { confirmDialog } from './dialog.js';

const POLL_MS = 5000;
const STATE_TEXT = { pending: 'Pending', applied: 'Applied', cancelled: 'Cancelled', failed: 'Failed' };
const STATE_CLASS = { pending: 'state-off', applied: 'state-on', cancelled: 'state-none', failed: 'state-killed' };

/** What a change sets, in words. */
export function describeChange(change) {
  const parts = [];
  if (change.on === true) parts.push('turn targeting on');
  if (change.on === false) parts.push('turn targeting off');
  const f = change.fallthrough;
  if (f?.variant !== undefined) parts.push(`serve ${f.variant} by default`);
  if (f?.rollout) parts.push(`roll out ${f.rollout.variations.map((v) => `${v.variant} ${v.weight / 1000} %`).join(', ')}`);
  if (change.rules) parts.push(`set ${change.rules.length} rule(s)`);
  if (change.targets) parts.push(`set ${change.targets.length} target list(s)`);
  if (change.off_variant !== undefined) parts.push(`serve ${change.off_variant} while off`);
  if (change.fail_safe_variant === null) parts.push('remove the fail-safe variant');
  else if (change.fail_safe_variant !== undefined) parts.push(`fail safe to ${change.fail_safe_variant}`);
  if (change.prerequisites?.length === 0) parts.push('remove every prerequisite');
  else if (change.prerequisites) parts.push(`require ${change.prerequisites.map((p) => `${p.flag} = ${p.variant}`).join(', ')}`);
  return parts.join('; ') || 'no change';
}

/** The scheduled changes card of `flag` in `env`. Returns { el, refresh, dispose }. */
export function scheduleCard({ app, project, env, envName, flag, variants }) {
  const el = h('div', { class: 'card schedule-card', id: 'schedule-card', 'data-state': 'loading' });
  const list = h('ol', { class: 'schedule-list', id: 'schedule-list' });
  const status = h('p', { class: 'muted', text: 'Loading scheduled changes…' });
  el.append(h('div', { class: 'card-head' }, h('h2', { text: `Scheduled changes in ${envName}` })), status, list);
  if (can('edit')) el.append(form());
  let disposed = false;
  let timer = null;
  let token = 0;

  async function refresh() {
    const mine = ++token;
    let changes;
    try {
      changes = (await get(url('projects', project, 'environments', env, 'scheduled'))).filter((c) => c.flag === flag);
    } catch (e) {
      if (disposed || mine !== token) return;
      el.dataset.state = 'error';
      status.textContent = `Scheduled changes could not be loaded: ${describe(e)}`;
      return;
    }
    if (disposed || mine !== token) return;
    el.dataset.state = changes.length ? 'some' : 'none';
    status.textContent = changes.length ? '' : 'Nothing scheduled for this flag here.';
    clear(list);
    for (const c of changes) list.append(item(c));
  }

  function item(c) {
    const li = h('li', { class: 'schedule-item', 'data-id': String(c.id), 'data-state': c.state },
      h('span', { class: `state ${STATE_CLASS[c.state] || 'state-none'}`, text: STATE_TEXT[c.state] || c.state }), ' ',
      timeEl(c.at), ': ', h('span', { class: 'schedule-what', text: describeChange(c.change) }),
      h('span', { class: 'muted small', text: ` (requested by ${c.requested_by}${c.reason ? `: ${c.reason}` : ''})` }));
    if (c.result) li.append(h('div', { class: 'small schedule-result', text: c.result }));
    if (c.state === 'pending' && can('edit')) {
      li.append(' ', h('button', { type: 'button', class: 'btn btn-small', 'data-action': 'cancel', text: 'Cancel',
        onclick: () => cancel(c) }));
    }
    return li;
  }

  async function cancel(c) {
    const why = await confirmDialog({ title: 'Cancel this scheduled change?', message: describeChange(c.change), confirmLabel: 'Cancel the change', reason: true });
    if (!why) return;
    try {
      await post(url('projects', project, 'environments', env, 'scheduled', String(c.id), 'cancel'), typeof why === 'string' ? { reason: why } : {});
      app.notify('Scheduled change cancelled.', { kind: 'success' });
    } catch (e) {
      app.notify(`Cancelling failed: ${describe(e)}`, { kind: 'error', timeout: 0 });
    }
    refresh();
  }

  function form() {
    const when = h('input', { type: 'datetime-local', id: 'schedule-at', name: 'at', required: true, 'data-path': 'at' });
    const kinds = [['on', 'Turn targeting on'], ['off', 'Turn targeting off'], ['serve', 'Serve a variant by default']];
    if (variants.length === 2) kinds.push(['rollout', 'Roll out a variant to a percentage']);
    kinds.push(['off_variant', 'Serve a variant while targeting is off'], ['fail_safe', 'Set the fail-safe variant'],
      ['fail_safe_clear', 'Remove the fail-safe variant'], ['prereq', 'Require a prerequisite flag'],
      ['prereq_clear', 'Remove every prerequisite']);
    const kind = select(kinds, 'on', { id: 'schedule-kind', name: 'kind', 'data-path': 'change' });
    const variant = select(variants.map((v) => [v.key, v.key]), variants[variants.length - 1]?.key, { id: 'schedule-variant', name: 'variant', 'data-path': 'change.fallthrough' });
    const percent = h('input', { type: 'number', id: 'schedule-percent', name: 'percent', min: '0', max: '100', step: '0.001', value: '10' });
    const reason = h('input', { type: 'text', id: 'schedule-reason', name: 'reason', placeholder: 'Why (shown in the audit log)', 'data-path': 'reason' });
    const prereqFlag = h('input', { type: 'text', id: 'schedule-prereq-flag', name: 'prereq_flag', placeholder: 'flag key', 'data-path': 'change.prerequisites[0].flag' });
    const prereqVariant = h('input', { type: 'text', id: 'schedule-prereq-variant', name: 'prereq_variant', placeholder: 'variant', 'data-path': 'change.prerequisites[0].variant' });
    const variantField = field('Variant', variant);
    const percentField = field('Percent of users', percent);
    const prereqField = h('div', {}, field('Prerequisite flag', prereqFlag), field('Its variant', prereqVariant));
    const shown = () => {
      variantField.hidden = !['serve', 'rollout', 'off_variant', 'fail_safe'].includes(kind.value);
      percentField.hidden = kind.value !== 'rollout';
      prereqField.hidden = kind.value !== 'prereq';
    };
    kind.addEventListener('change', shown);
    shown();
    const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-small', id: 'schedule-submit', text: 'Schedule' });
    const f = h('form', { class: 'schedule-form', id: 'schedule-form', novalidate: true },
      h('h3', { text: 'Schedule a change' }), field('When (your local time)', when), field('Change', kind),
      variantField, percentField, prereqField, field('Reason', reason), h('div', { class: 'error-summary', hidden: true }), submit);
    f.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      clearErrors(f);
      const at = when.value ? new Date(when.value) : null;
      if (!at || Number.isNaN(at.getTime())) return showErrors(f, [{ path: 'at', message: 'Give a date and time.' }]);
      const change = patchOf(kind.value, variant.value, Number(percent.value), [prereqFlag.value.trim(), prereqVariant.value.trim()]);
      submit.disabled = true;
      try {
        await post(url('projects', project, 'environments', env, 'flags', flag, 'schedule'),
          { at: at.toISOString(), change, reason: reason.value.trim() || null });
        app.notify('Change scheduled.', { kind: 'success' });
        reason.value = '';
      } catch (e) {
        if (e.errors?.length) showErrors(f, e.errors);
        app.notify(`Scheduling failed: ${describe(e)}`, { kind: 'error', timeout: 0 });
      } finally {
        submit.disabled = false;
      }
      refresh();
    });
    return f;
  }

  function patchOf(kind, chosen, pct, [prereqKey, prereqVariantKey]) {
    if (kind === 'on') return { on: true };
    if (kind === 'off_variant') return { off_variant: chosen };
    if (kind === 'fail_safe') return { fail_safe_variant: chosen };
    if (kind === 'fail_safe_clear') return { fail_safe_variant: null };
    if (kind === 'prereq') return { prerequisites: [{ flag: prereqKey, variant: prereqVariantKey }] };
    if (kind === 'prereq_clear') return { prerequisites: [] };
    if (kind === 'off') return { on: false };
    if (kind === 'serve') return { fallthrough: { variant: chosen } };
    const other = variants.find((v) => v.key !== chosen).key;
    const weight = Math.round(pct * 1000);
    return { fallthrough: { rollout: { variations: [{ variant: chosen, weight }, { variant: other, weight: 100000 - weight }] } } };
  }

  function tick() {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      if (disposed) return;
      if (!document.hidden) await refresh();
      tick();
    }, POLL_MS);
  }

  refresh();
  tick();
  return {
    el,
    refresh,
    dispose() {
      disposed = true;
      clearTimeout(timer);
    },
  };
}
