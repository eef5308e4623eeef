// The flag page: per-environment tabs with the toggle, kill/restore,
// the targeting editor (or a read-only summary), "evaluate as", the
// version history with diffs and one-click revert, and the definition
// (variants) editor. Conflicts (409) are explained with a reload-and-
// reapply path; nothing is ever overwritten silently.

import { api, get, post, put, patch, url, can, query, ApiError, describe, hasRoute } from '../api.js';
import { secretBox } from './keys.js';
import { h, append, clear, stateOf, stateBadge, timeEl, ago, select, showErrors, clearErrors, splitList } from '../dom.js';
import { live } from '../live.js';
import { confirmDialog } from '../dialog.js';
import { openKillDialog, openRestoreDialog } from '../kill.js';
import { openRevertDialog } from '../revert.js';
import { targetingEditor, summary, variantsEditor, readVariants } from '../targeting.js';
import { renderDiff, merge3, diffValues } from '../diff.js';
import { telemetryCard } from '../telemetry.js';
import { releaseCard } from '../release.js';
import { scheduleCard } from '../schedule.js';
import { usageCard } from '../usage.js';
import { approvalPolicy, changeRequestsCard, openChangeRequest, policyForm } from '../approvals.js';
import { archiveButton, archivedBanner } from '../archive.js';

const CONFIG_FIELDS = ['off_variant', 'prerequisites', 'targets', 'rules', 'fallthrough', 'fail_safe_variant'];
const DEF_FIELDS = ['name', 'description', 'tags', 'owner', 'temporary', 'variants'];

export function render({ app, root, project, flag, query: q }) {
  let disposed = false;
  let def = null;
  const records = new Map();
  let env = q.get('env') && app.envs.some((e) => e.key === q.get('env')) ? q.get('env') : app.env;
  if (env && app.env !== env) app.setEnv(env);
  let segments = [];
  let flags = []; // the project's flags ({key, variants}) for prerequisites
  // Editor state for the selected environment.
  let base = null; // the record the draft started from
  let editor = null;
  let dirty = false;
  let staleNotice = null;
  const p = encodeURIComponent(project);

  const page = h('section', { class: 'page flag-page' });
  root.append(page);
  page.append(h('p', { class: 'loading', text: 'Loading flag…' }));

  const envUrl = (e, ...rest) => url('projects', project, 'environments', e, 'flags', flag, ...rest);

  async function load() {
    try {
      const [d, segs, list, ...recs] = await Promise.all([
        get(url('projects', project, 'flags', flag)),
        get(url('projects', project, 'segments')).catch(() => []),
        get(url('projects', project, 'flags') + '?limit=1000').catch(() => ({ items: [] })),
        ...app.envs.map((e) => get(envUrl(e.key)).catch(() => null)),
      ]);
      if (disposed) return;
      def = d;
      segments = segs.map((s) => s.key);
      flags = (list.items || []).map((f) => ({ key: f.key, variants: f.variants || [] }));
      app.envs.forEach((e, i) => recs[i] && records.set(e.key, recs[i]));
      draw();
    } catch (e) {
      if (disposed) return;
      clear(page);
      page.append(h('h1', { text: flag }), h('p', { class: 'form-error', text: describe(e) }), h('p', {}, h('a', { href: `#/projects/${p}/flags`, text: '← Back to flags' })));
    }
  }

  // Layout pieces, rebuilt by draw().
  const tabs = h('div', { class: 'env-tabs', role: 'tablist', 'aria-label': 'Environments' });
  const panel = h('div', { class: 'env-panel', role: 'tabpanel', id: 'env-panel', tabindex: '-1' });
  const status = h('div', { class: 'card status-card', id: 'status-card' });
  // The save bar stays in the flow (a sticky one covered the selectors under
  // it); with unsaved edits, this note in the side column leads to it.
  const unsaved = h('div', { class: 'unsaved-note', id: 'unsaved-note', hidden: true },
    h('p', {}, h('span', { 'aria-hidden': 'true', text: '● ' }), 'Unsaved targeting changes.'),
    h('button', { type: 'button', class: 'btn btn-primary btn-small', text: 'Review and save', onclick: () => {
      const reason = document.getElementById('targeting-reason');
      reason?.scrollIntoView({ block: 'center' });
      reason?.focus();
    } }));
  const conflict = h('div', { class: 'conflict', id: 'conflict', hidden: true, role: 'alert' });
  const targeting = h('div', { class: 'card', id: 'targeting-card' });
  const evaluate = h('div', { class: 'card', id: 'evaluate-card' });
  const history = h('div', { class: 'card', id: 'history-card' });
  const definition = h('div', { class: 'card', id: 'definition-card' });
  const triggers = h('div', { class: 'card', id: 'triggers-card', hidden: true });
  let telemetry = null; // the selected environment's telemetry card (charts)
  let release = null; // the selected environment's release plan card (timeline)
  let scheduled = null; // the selected environment's scheduled changes card
  let usage = null; // the flag's usage card (every environment)
  let requests = null; // the selected environment's change requests card (with an approval policy)
  const policies = new Map(); // environment → approval policy
  const gated = () => (policies.get(env)?.approvals || 0) > 0;

  function draw() {
    clear(page);
    const killedAnywhere = [...records.values()].filter((r) => r.config.kill);
    append(page, [
      h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: `#/projects/${p}/flags`, text: 'Flags' }), ' › ', h('span', { 'aria-current': 'page', text: def.key })),
      h('div', { class: 'page-head' },
        h('div', {},
          h('h1', { text: def.name || def.key }),
          h('p', { class: 'flag-meta' },
            h('code', { text: def.key }), ' ',
            h('span', { class: 'pill', text: def.kind }), ' ',
            h('span', { class: 'pill', text: def.temporary ? 'temporary' : 'permanent' }), ' ',
            def.owner ? h('span', { class: 'muted', text: `owner: ${def.owner}` }) : null, ' ',
            (def.tags || []).map((t) => h('span', { class: 'tag', text: t })))),
        def.archived_at ? null : archiveButton({ app, project, flag, onDone: () => load() })),
      def.archived_at ? archivedBanner({ app, project, flag, def, onRestored: () => load() }) : null,
      def.description ? h('p', { class: 'flag-desc', text: def.description }) : null,
      killedAnywhere.length ? h('p', { class: 'kill-banner-small' }, h('span', { 'aria-hidden': 'true', text: '⊘ ' }), `Killed in ${killedAnywhere.map((r) => app.envName(r.environment)).join(', ')}.`) : null,
      tabs,
      panel,
      triggers,
      definition]);
    drawTabs();
    drawPanel();
    drawDefinition();
  }

  function drawTabs() {
    clear(tabs);
    for (const e of app.envs) {
      const rec = records.get(e.key);
      const st = rec ? { on: rec.config.on, killed: !!rec.config.kill } : null;
      const selected = e.key === env;
      const tab = h('button', { type: 'button', role: 'tab', class: `env-tab state-tab-${stateOf(st).key}`, id: `tab-${e.key}`, 'aria-selected': selected ? 'true' : 'false', 'aria-controls': 'env-panel', tabindex: selected ? '0' : '-1', 'data-env': e.key },
        h('span', { class: 'env-tab-name', text: e.name || e.key }), stateBadge(st));
      tab.addEventListener('click', () => selectEnv(e.key));
      tab.addEventListener('keydown', (ev) => {
        const keys = app.envs.map((x) => x.key);
        let i = keys.indexOf(e.key);
        if (ev.key === 'ArrowRight') i = (i + 1) % keys.length;
        else if (ev.key === 'ArrowLeft') i = (i - 1 + keys.length) % keys.length;
        else if (ev.key === 'Home') i = 0;
        else if (ev.key === 'End') i = keys.length - 1;
        else return;
        ev.preventDefault();
        selectEnv(keys[i]);
        tabs.querySelector(`#tab-${CSS.escape(keys[i])}`)?.focus();
      });
      tabs.append(tab);
    }
    panel.setAttribute('aria-labelledby', `tab-${env}`);
  }

  async function selectEnv(key) {
    if (key === env) return;
    if (dirty && !(await confirmDialog({ title: 'Discard unsaved changes?', message: `Your targeting edits in ${app.envName(env)} are not saved.`, confirmLabel: 'Discard and switch', danger: true }))) return;
    env = key;
    dirty = false;
    if (app.env !== key) app.setEnv(key);
    window.history.replaceState(null, '', `#/projects/${p}/flags/${encodeURIComponent(flag)}?env=${encodeURIComponent(env)}`);
    drawTabs();
    drawPanel();
  }

  function drawPanel() {
    telemetry?.dispose();
    telemetry = null;
    release?.dispose();
    release = null;
    scheduled?.dispose();
    scheduled = null;
    usage?.dispose();
    usage = null;
    requests = null;
    clear(panel);
    conflict.hidden = true;
    clear(conflict);
    staleNotice = null;
    const rec = records.get(env);
    if (!rec) {
      panel.append(h('p', { class: 'muted', text: `No configuration in ${app.envName(env)}.` }));
      return;
    }
    base = rec;
    dirty = false;
    telemetry = telemetryCard({ project, env, envName: app.envName(env), flag });
    release = releaseCard({ app, project, env, envName: app.envName(env), flag });
    scheduled = scheduleCard({ app, project, env, envName: app.envName(env), flag, variants: def.variants || [] });
    usage = usageCard({ app, project, env, flag });
    const requestsSlot = h('div', { id: 'change-requests-slot' });
    const shown = env;
    approvalPolicy(project, env).then((policy) => {
      policies.set(shown, policy);
      if (policy.approvals > 0 && shown === env && requestsSlot.isConnected) {
        requests = changeRequestsCard({ app, project, env, envName: app.envName(env), flag, policy });
        requestsSlot.append(requests.el);
      }
      if (can('admin') && shown === env && requestsSlot.isConnected) {
        requestsSlot.append(policyForm({ app, project, env, envName: app.envName(env), policy, onSaved: () => drawPanel() }));
      }
    });
    panel.append(h('div', { class: 'flag-layout' },
      h('div', { class: 'flag-main' }, conflict, requestsSlot, release.el, scheduled.el, targeting, usage.el, telemetry.el, history),
      h('div', { class: 'flag-side' }, status, unsaved, evaluate)));
    drawStatus();
    drawTargeting(rec.config);
    drawEvaluate();
    drawHistory();
    triggers.hidden = true;
    drawTriggers();
  }

  // ---- Status: toggle and kill switch ------------------------------------
  function drawStatus() {
    clear(status);
    const rec = records.get(env);
    const envName = app.envName(env);
    const cfg = rec.config;
    status.append(h('h2', { text: `Status in ${envName}` }));
    if (cfg.kill) {
      status.append(h('div', { class: 'kill-banner', id: 'kill-banner' },
        h('p', { class: 'kill-title' }, h('span', { 'aria-hidden': 'true', text: '⊘ ' }), 'KILLED'),
        h('p', {}, `Serving the off variant “${cfg.off_variant}” to everyone.`),
        h('dl', { class: 'kv' },
          h('dt', { text: 'By' }), h('dd', { text: cfg.kill.by }),
          h('dt', { text: 'When' }), h('dd', {}, timeEl(cfg.kill.at)),
          h('dt', { text: 'Why' }), h('dd', { text: cfg.kill.reason }),
          cfg.kill.incident ? [h('dt', { text: 'Incident' }), h('dd', { text: cfg.kill.incident })] : null)));
    }
    const on = cfg.on;
    const killed = !!cfg.kill;
    if (can('edit')) {
      // Killed: the switch shows what targeting does after a restore, never "On".
      const sw = h('button', { type: 'button', role: 'switch', class: `switch ${on ? 'switch-on' : ''}${killed ? ' switch-killed' : ''}`, 'aria-checked': on ? 'true' : 'false', id: 'toggle', 'aria-describedby': 'toggle-hint' },
        h('span', { class: 'switch-track', 'aria-hidden': 'true' }, h('span', { class: 'switch-thumb' })),
        h('span', { class: 'switch-text', text: killed ? `Killed (${on ? 'on' : 'off'} after restore)` : on ? 'On' : 'Off' }));
      sw.addEventListener('click', async () => {
        sw.disabled = true;
        if (gated()) {
          try {
            await openChangeRequest({ project, env, flag, change: { on: !on } });
            app.notify(`Change request opened: turning “${flag}” ${on ? 'off' : 'on'} in ${envName} needs approval.`, { kind: 'success' });
            requests?.refresh();
          } catch (e) {
            app.error(e);
          }
          sw.disabled = false;
          return;
        }
        try {
          const res = await post(envUrl(env, 'toggle'), { on: !on });
          afterOwnWrite(res.value);
          app.notify(`“${flag}” turned ${res.value.config.on ? 'on' : 'off'} in ${envName}.`, { kind: 'success' });
          status.querySelector('#toggle')?.focus();
        } catch (e) {
          sw.disabled = false;
          app.error(e);
        }
      });
      status.append(h('div', { class: 'toggle-row' }, h('span', { class: 'toggle-label', id: 'toggle-label', text: 'Targeting' }), sw));
      sw.setAttribute('aria-labelledby', 'toggle-label');
      const hint = killed ? `Killed: everyone gets “${cfg.off_variant}” until restored; then targeting is ${on ? 'on' : 'off'}.`
        : on ? 'On: targets, rules and fallthrough decide.' : `Off: everyone gets “${cfg.off_variant}”.`;
      status.append(h('p', { class: 'hint', id: 'toggle-hint', text: hint }));
    } else {
      status.append(h('p', { class: 'toggle-row' }, h('span', { class: 'toggle-label', text: 'Targeting' }), stateBadge({ on, killed })));
    }
    if (can('kill')) {
      if (cfg.kill) {
        status.append(h('button', { type: 'button', class: 'btn btn-primary btn-block', id: 'restore-button', onclick: () => openRestoreDialog({ app, project, env, flag, onDone: (res) => afterOwnKill(res) }) },
          h('span', { 'aria-hidden': 'true', text: '↺ ' }), `Restore in ${envName}`));
      } else {
        status.append(h('button', { type: 'button', class: 'btn btn-kill btn-block', id: 'kill-button', onclick: () => openKillDialog({ app, project, env, flag, offVariant: cfg.off_variant, onDone: (res) => afterOwnKill(res) }) },
          h('span', { 'aria-hidden': 'true', text: '⊘ ' }), `Kill in ${envName}`));
      }
    }
    status.append(h('p', { class: 'muted small' }, `Version ${rec.version} · changed `, timeEl(rec.updated_at), ` by ${rec.updated_by}`));
  }

  /** After my own toggle/kill: the only difference is `on`/`kill`, so the draft rebases silently. */
  function afterOwnWrite(record) {
    records.set(env, record);
    rebase(record);
    drawTabs();
    drawStatus();
    refreshHistory();
  }
  function afterOwnKill(res) {
    const rec = (res.value || []).find((r) => r.flag === flag) || (res.value || [])[0];
    if (rec) afterOwnWrite(rec);
  }

  let baseTargetingConfig = null;
  function sameTargeting(a, b) {
    return JSON.stringify(pick(a, CONFIG_FIELDS)) === JSON.stringify(pick(b, CONFIG_FIELDS));
  }
  /** Moves the draft's base to `record` when only on/kill differ; otherwise leaves it (the save will conflict). */
  function rebase(record) {
    if (!baseTargetingConfig || sameTargeting(record.config, baseTargetingConfig)) {
      base = record;
      if (!dirty) drawTargeting(record.config);
      return true;
    }
    return false;
  }

  // ---- Targeting ------------------------------------------------------------
  function drawTargeting(config, { keepDirty = false } = {}) {
    clear(targeting);
    baseTargetingConfig = pick(base.config, CONFIG_FIELDS);
    const envName = app.envName(env);
    targeting.append(h('div', { class: 'card-head' }, h('h2', { text: `Targeting in ${envName}` }),
      h('span', { class: 'muted small', text: `version ${base.version}` })));
    if (!can('edit')) {
      editor = null;
      targeting.append(summary(config));
      return;
    }
    const form = h('form', { class: 'targeting-form', novalidate: true, id: 'targeting-form' });
    const dirtyMark = h('span', { class: 'dirty-mark', 'aria-live': 'polite' });
    const reasonId = 'targeting-reason';
    const reason = h('input', { id: reasonId, 'data-path': 'reason', autocomplete: 'off', placeholder: 'Why? (recorded in the audit log)' });
    const save = h('button', { type: 'submit', class: 'btn btn-primary', id: 'save-targeting', text: 'Save targeting' });
    const discard = h('button', { type: 'button', class: 'btn', text: 'Discard changes', onclick: () => {
      setDirty(false);
      clearErrors(form);
      drawTargeting(base.config);
    } });
    const setDirty = (v) => {
      dirty = v;
      dirtyMark.textContent = v ? '● Unsaved changes' : '';
      unsaved.hidden = !v;
      save.disabled = !v;
      discard.disabled = !v;
    };
    editor = targetingEditor({ flag: def, config, segments, flags, onChange: () => setDirty(true) });
    const bar = h('div', { class: 'save-bar' },
      h('div', { class: 'field grow' }, h('label', { for: reasonId, text: 'Reason for the change' }), reason),
      h('div', { class: 'save-actions' }, dirtyMark, discard, save));
    form.append(h('div', { class: 'error-summary', role: 'alert', hidden: true }), editor.el, bar);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      clearErrors(form);
      const cfg = editor.getConfig();
      const current = records.get(env);
      const body = { ...pick(cfg, CONFIG_FIELDS), on: current.config.on, version: base.version, reason: reason.value.trim() || undefined };
      save.disabled = true;
      if (gated()) {
        // A change request carries targets, rules and the fallthrough (and on/off): nothing else may be lost silently.
        const norm = (f, v) => JSON.stringify(f === 'prerequisites' ? v || [] : v ?? null);
        const other = ['off_variant', 'prerequisites', 'fail_safe_variant'].filter((f) => norm(f, cfg[f]) !== norm(f, base.config[f]));
        if (other.length) {
          save.disabled = false;
          showErrors(form, [{ path: '', message: `With approvals on, a change request carries targets, rules and the default serve only: change ${other.join(', ')} separately (approvals off), or undo that part.` }]);
          return;
        }
        try {
          const change = { targets: cfg.targets, rules: cfg.rules, fallthrough: cfg.fallthrough };
          await openChangeRequest({ project, env, flag, change, reason: body.reason });
          setDirty(false);
          drawTargeting(base.config);
          app.notify(`Change request opened: the targeting change in ${envName} needs approval.`, { kind: 'success' });
          requests?.refresh();
        } catch (err) {
          save.disabled = false;
          if (err instanceof ApiError && err.status === 422) showErrors(form, err.errors, { prefix: 'change' });
          else showErrors(form, [{ path: '', message: describe(err) }]);
        }
        return;
      }
      save.textContent = 'Saving…';
      try {
        const res = await put(envUrl(env), body);
        records.set(env, res.value);
        base = res.value;
        setDirty(false);
        drawTabs();
        drawStatus();
        drawTargeting(res.value.config);
        refreshHistory();
        conflict.hidden = true;
        app.notify(res.changed === false ? 'Nothing changed.' : `Saved targeting in ${envName} (version ${res.value.version}).`, { kind: 'success' });
      } catch (err) {
        save.textContent = 'Save targeting';
        save.disabled = false;
        if (err instanceof ApiError && err.status === 422) showErrors(form, err.errors);
        // A prerequisite loop or chain: about other flags, not a concurrent edit.
        else if (err instanceof ApiError && err.status === 409 && err.code?.startsWith('prerequisite_')) showErrors(form, err.errors);
        else if (err instanceof ApiError && err.status === 409) showConflict(cfg, err);
        else {
          if (!(err instanceof ApiError)) console.error(err);
          showErrors(form, [{ path: '', message: describe(err) }]);
        }
      }
    });
    targeting.append(form);
    setDirty(keepDirty);
  }

  /** 409: explain, show their change, offer reload-and-reapply or discard. */
  async function showConflict(mine, err) {
    let current;
    try {
      current = await get(envUrl(env));
    } catch (e) {
      app.error(e);
      return;
    }
    if (disposed) return;
    records.set(env, current);
    drawTabs();
    drawStatus();
    clear(conflict);
    conflict.hidden = false;
    const started = base.version;
    conflict.append(
      h('h2', {}, h('span', { 'aria-hidden': 'true', text: '⚠ ' }), 'Someone else changed this flag'),
      h('p', {}, `You started from version ${started}; ${app.envName(env)} is now at version ${current.version} (by ${current.updated_by}, ${ago(current.updated_at)}). `,
        h('strong', { text: 'Nothing was saved and nothing was overwritten.' })),
      h('details', { open: true }, h('summary', { text: `Their change (version ${started} → ${current.version})` }),
        renderDiff({ config: pick(base.config, CONFIG_FIELDS) }, { config: pick(current.config, CONFIG_FIELDS) })),
      h('details', {}, h('summary', { text: 'Your unsaved edits' }),
        renderDiff({ config: pick(base.config, CONFIG_FIELDS) }, { config: pick(mine, CONFIG_FIELDS) })));
    const reapply = h('button', { type: 'button', class: 'btn btn-primary', id: 'conflict-reapply', text: `Reload version ${current.version} and reapply my edits` });
    const dropMine = h('button', { type: 'button', class: 'btn', id: 'conflict-discard', text: 'Discard my edits and load the latest' });
    reapply.addEventListener('click', () => {
      const { merged, both } = merge3(pick(base.config, CONFIG_FIELDS), pick(mine, CONFIG_FIELDS), pick(current.config, CONFIG_FIELDS), CONFIG_FIELDS);
      base = current;
      drawTargeting(merged, { keepDirty: true });
      clear(conflict);
      conflict.append(h('p', {}, h('span', { 'aria-hidden': 'true', text: '↻ ' }),
        `Your edits are reapplied on top of version ${current.version}. Review and save again.`,
        both.length ? h('strong', { text: ` Both of you changed: ${both.join(', ')} — your version of these is shown; check it still makes sense.` }) : null));
      targeting.querySelector('#save-targeting')?.focus();
    });
    dropMine.addEventListener('click', () => {
      base = current;
      dirty = false;
      conflict.hidden = true;
      drawTargeting(current.config);
    });
    conflict.append(h('div', { class: 'dialog-actions' }, dropMine, reapply));
    reapply.focus();
  }

  // ---- Evaluate as ----------------------------------------------------------
  function drawEvaluate() {
    clear(evaluate);
    const key = h('input', { id: 'eval-key', 'data-path': 'context.key', autocomplete: 'off', spellcheck: 'false', placeholder: 'user-123', required: true });
    const attrs = h('textarea', { id: 'eval-attrs', rows: 3, 'data-path': 'context.attributes', spellcheck: 'false', placeholder: '{"country": "de", "plan": "pro"}' });
    const out = h('div', { class: 'eval-result', 'aria-live': 'polite', id: 'eval-result' });
    const form = h('form', { class: 'stack', novalidate: true },
      h('div', { class: 'error-summary', role: 'alert', hidden: true }),
      h('div', { class: 'field' }, h('label', { for: 'eval-key', text: 'Context key' }), key),
      h('div', { class: 'field' }, h('label', { for: 'eval-attrs', text: 'Attributes (JSON object)' }), attrs),
      h('button', { type: 'submit', class: 'btn', text: 'Evaluate' }), out);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      clearErrors(form);
      clear(out);
      let attributes = {};
      if (attrs.value.trim()) {
        try {
          attributes = JSON.parse(attrs.value);
          if (attributes === null || typeof attributes !== 'object' || Array.isArray(attributes)) throw new Error('an object like {"country": "de"} is expected');
        } catch (er) {
          showErrors(form, [{ path: 'context.attributes', message: `Not a JSON object: ${er.message}` }]);
          return;
        }
      }
      if (!key.value.trim()) {
        showErrors(form, [{ path: 'context.key', message: 'A context key is required.' }]);
        return;
      }
      try {
        const res = await post(url('projects', project, 'environments', env, 'evaluate'), { context: { key: key.value.trim(), attributes }, flags: [flag] });
        const r = res.results?.[flag];
        if (!r) {
          out.append(h('p', { text: 'No result.' }));
          return;
        }
        const reason = r.reason || {};
        let why = reason.kind;
        if (reason.kind === 'RULE_MATCH') why = `RULE_MATCH: rule ${reason.rule_index + 1} (${reason.rule_id})`;
        if (reason.kind === 'ERROR') why = `ERROR: ${reason.error}`;
        out.append(h('dl', { class: 'kv' },
          h('dt', { text: 'Value' }), h('dd', {}, h('code', { text: JSON.stringify(r.value) })),
          h('dt', { text: 'Variant' }), h('dd', { text: r.variant ?? '—' }),
          h('dt', { text: 'Reason' }), h('dd', { text: why }),
          h('dt', { text: 'Revision' }), h('dd', { text: String(res.revision) })));
      } catch (er) {
        if (er instanceof ApiError && er.status === 422) showErrors(form, er.errors);
        else showErrors(form, [{ path: '', message: describe(er) }]);
      }
    });
    evaluate.append(h('h2', { text: 'Evaluate as' }), h('p', { class: 'hint', text: `Runs the SDK's engine on the saved configuration of ${app.envName(env)} (not on unsaved edits).` }), form);
  }

  // ---- History and revert ------------------------------------------------------
  let historyToken = 0;
  async function refreshHistory() {
    const token = ++historyToken;
    const forEnv = env;
    let versions;
    let events;
    try {
      [versions, events] = await Promise.all([
        get(envUrl(forEnv, 'history')),
        get(url('projects', project, 'audit') + query({ flag, environment: forEnv, limit: 200 })).then((r) => r.items || []).catch(() => []),
      ]);
    } catch (e) {
      if (token === historyToken) {
        clear(history);
        history.append(h('h2', { text: 'History' }), h('p', { class: 'form-error', text: describe(e) }));
      }
      return;
    }
    if (disposed || token !== historyToken || forEnv !== env) return;
    clear(history);
    const current = records.get(env)?.version;
    const byVersion = new Map();
    for (const ev of events) {
      const v = ev.after?.version;
      if (v !== undefined && !byVersion.has(v)) byVersion.set(v, ev);
    }
    history.append(h('div', { class: 'card-head' }, h('h2', { text: `History in ${app.envName(env)}` }),
      h('a', { href: `#/projects/${p}/audit?flag=${encodeURIComponent(flag)}&environment=${encodeURIComponent(env)}`, class: 'small', text: 'Open in audit log' })));
    const list = h('ol', { class: 'history', id: 'history-list', reversed: true });
    versions.forEach((v, i) => {
      const prev = versions[i + 1];
      const ev = byVersion.get(v.version);
      const action = ev ? ev.action : v.version === 1 ? 'flag.create' : 'change';
      const item = h('li', { class: 'history-item', 'data-version': String(v.version) },
        h('div', { class: 'history-head' },
          h('span', { class: 'version-badge', text: `v${v.version}` }),
          h('span', { class: 'action', text: action }),
          h('span', { class: 'who', text: `by ${v.updated_by}` }),
          timeEl(v.updated_at),
          v.version === current ? h('span', { class: 'pill pill-current', text: 'current' }) : null),
        ev?.reason ? h('p', { class: 'reason' }, h('span', { class: 'muted', text: 'Why: ' }), ev.reason) : null,
        prev ? h('details', {}, h('summary', { text: `Changes from v${prev.version}` }), renderDiff(prev, v)) : h('p', { class: 'muted small', text: 'First version (created off).' }));
      const killOnly = prev && JSON.stringify({ ...prev.config, kill: null }) === JSON.stringify({ ...v.config, kill: null });
      if (can('edit') && (prev && !killOnly || v.version !== current)) {
        item.append(h('div', { class: 'history-actions' },
          prev && !killOnly ? h('button', { type: 'button', class: 'btn btn-small', 'data-undo': String(v.version), text: 'Undo this change', onclick: () => goBack('undo', v.version) }) : null,
          v.version !== current ? h('button', { type: 'button', class: 'btn btn-small', 'data-revert': String(v.version), text: `Restore v${v.version}`, onclick: () => goBack('restore', v.version) }) : null));
      }
      list.append(item);
    });
    history.append(list);
  }
  function drawHistory() {
    clear(history);
    history.append(h('h2', { text: 'History' }), h('p', { class: 'muted', text: 'Loading…' }));
    refreshHistory();
  }

  async function goBack(mode, version) {
    if (dirty && !(await confirmDialog({ title: 'Discard unsaved changes?', message: 'This replaces the targeting you are editing.', confirmLabel: 'Discard', danger: true }))) return;
    const forEnv = env;
    await openRevertDialog({ app, project, env: forEnv, flag, mode, version, onDone: (res) => {
      if (disposed) return;
      records.set(forEnv, res.value);
      if (forEnv === env) {
        base = res.value;
        dirty = false;
        drawStatus();
        drawTargeting(res.value.config);
        refreshHistory();
      }
      drawTabs();
      const what = mode === 'undo' ? `Undid change v${version} of` : `Restored version ${version} of`;
      app.notify(`${what} “${flag}” in ${app.envName(forEnv)} (now version ${res.value.version}).`, { kind: 'success' });
    } });
  }

  // ---- Definition and variants ------------------------------------------------
  let defBase = null;
  function drawDefinition() {
    clear(definition);
    defBase = def;
    definition.append(h('div', { class: 'card-head' }, h('h2', { text: 'Variants and details' }), h('span', { class: 'muted small', text: `definition version ${def.version}` })));
    if (!can('edit')) {
      definition.append(h('table', { class: 'simple' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: 'Variant' }), h('th', { scope: 'col', text: 'Value' }), h('th', { scope: 'col', text: 'Name' }))),
        h('tbody', {}, def.variants.map((v) => h('tr', {}, h('td', {}, h('code', { text: v.key })), h('td', {}, h('code', { text: JSON.stringify(v.value) })), h('td', { text: v.name || '' }))))));
      return;
    }
    const form = h('form', { class: 'stack', novalidate: true, id: 'definition-form' });
    const fill = (d) => {
      clear(form);
      const name = h('input', { id: 'def-name', value: d.name || '', 'data-path': 'name', autocomplete: 'off' });
      const owner = h('input', { id: 'def-owner', value: d.owner || '', 'data-path': 'owner', autocomplete: 'off' });
      const tags = h('input', { id: 'def-tags', value: (d.tags || []).join(', '), 'data-path': 'tags', autocomplete: 'off' });
      const desc = h('textarea', { id: 'def-desc', rows: 2, value: d.description || '', 'data-path': 'description' });
      const temp = h('input', { type: 'checkbox', id: 'def-temp', checked: d.temporary, 'data-path': 'temporary' });
      const expires = h('input', { type: 'date', id: 'def-expires', value: d.expires_at ? d.expires_at.slice(0, 10) : '', 'data-path': 'expires_at' });
      const vars = variantsEditor(def.kind, d.variants, true);
      const msg = h('div', { class: 'def-conflict', role: 'alert' });
      const save = h('button', { type: 'submit', class: 'btn btn-primary', id: 'save-definition', text: 'Save variants and details' });
      form.append(h('div', { class: 'error-summary', role: 'alert', hidden: true }), msg,
        h('div', { class: 'grid-2' },
          h('div', { class: 'field' }, h('label', { for: 'def-name', text: 'Name' }), name),
          h('div', { class: 'field' }, h('label', { for: 'def-owner', text: 'Owner' }), owner)),
        h('div', { class: 'field' }, h('label', { for: 'def-tags', text: 'Tags (comma separated)' }), tags),
        h('div', { class: 'field' }, h('label', { for: 'def-desc', text: 'Description' }), desc),
        h('div', { class: 'check' }, temp, h('label', { for: 'def-temp', text: 'Temporary (a release flag to remove later)' })),
        h('div', { class: 'field' }, h('label', { for: 'def-expires', text: 'Expires on (optional: listed as stale after this day)' }), expires),
        h('h3', { text: 'Variants' }), vars,
        h('div', { class: 'save-actions' }, save));
      form.onsubmit = async (e) => {
        e.preventDefault();
        clearErrors(form);
        const read = readVariants(vars, def.kind);
        if (read.errors.length) {
          showErrors(form, read.errors);
          return;
        }
        const mine = { name: name.value.trim(), description: desc.value.trim(), tags: splitList(tags.value), owner: owner.value.trim(), temporary: temp.checked, expires_at: expires.value ? new Date(`${expires.value}T00:00:00Z`).toISOString() : null, variants: read.variants };
        save.disabled = true;
        try {
          const updated = await patch(url('projects', project, 'flags', flag), { version: defBase.version, ...mine });
          def = updated;
          app.notify(`Saved “${flag}” (definition version ${updated.version}).`, { kind: 'success' });
          draw();
        } catch (err) {
          save.disabled = false;
          if (err instanceof ApiError && err.status === 422) showErrors(form, err.errors);
          else if (err instanceof ApiError && err.status === 409) {
            const latest = await get(url('projects', project, 'flags', flag)).catch(() => null);
            if (!latest) return app.error(err);
            const { merged, both } = merge3(pick(defBase, DEF_FIELDS), mine, pick(latest, DEF_FIELDS), DEF_FIELDS);
            const theirs = diffValues(pick(defBase, DEF_FIELDS), pick(latest, DEF_FIELDS)).map((d) => d.path);
            def = latest;
            defBase = latest;
            fill({ ...latest, ...merged });
            const m = form.querySelector('.def-conflict');
            m.append(h('p', {}, h('span', { 'aria-hidden': 'true', text: '⚠ ' }),
              `The definition changed meanwhile (now version ${latest.version}: ${theirs.join(', ') || 'no visible field'}). Nothing was saved. Your edits are reapplied on the latest version — review and save again.`,
              both.length ? h('strong', { text: ` Both changed: ${both.join(', ')}.` }) : null));
            m.setAttribute('tabindex', '-1');
            m.focus();
          } else showErrors(form, [{ path: '', message: describe(err) }]);
        }
      };
    };
    fill(def);
    definition.append(form);
  }

  // ---- Alert triggers (shown only when the server has the route) ------------------
  let triggersToken = 0;
  async function drawTriggers() {
    const token = ++triggersToken;
    if (!can('kill') || !(await hasRoute('/flags/{flag}/triggers'))) return;
    if (disposed || token !== triggersToken) return;
    const forEnv = env;
    let items;
    try {
      items = await get(envUrl(forEnv, 'triggers'));
    } catch (e) {
      items = null;
      if (disposed || token !== triggersToken) return;
      clear(triggers);
      triggers.hidden = false;
      triggers.append(h('h2', { text: 'Alert triggers' }), h('p', { class: 'form-error', text: describe(e) }));
      return;
    }
    if (disposed || token !== triggersToken) return;
    triggers.hidden = false;
    clear(triggers);
    const envName = app.envName(forEnv);
    triggers.append(h('h2', { text: `Alert triggers in ${envName}` }),
      h('p', { class: 'hint', text: 'Secret URLs that alerting tools (Prometheus Alertmanager, Grafana) POST to. A firing alert kills (or restores) this flag here, audited under the trigger’s name.' }));
    const out = h('div');
    if (!items.length) triggers.append(h('p', { class: 'muted', text: 'No trigger for this flag here yet.' }));
    else {
      triggers.append(h('table', { class: 'simple', id: 'trigger-table' },
        h('thead', {}, h('tr', {}, ['Name', 'Action', 'URL', 'Created', 'Status', ''].map((t) => h('th', { scope: 'col', text: t })))),
        h('tbody', {}, items.map((t) => h('tr', {},
          h('td', { 'data-label': 'Name', text: t.name }),
          h('td', { 'data-label': 'Action', text: `${t.action}${t.restore_on_resolve ? ' (restores when resolved)' : ''}` }),
          h('td', { 'data-label': 'URL' }, h('code', { text: `…/hooks/v1/triggers/${t.prefix}…` })),
          h('td', { 'data-label': 'Created' }, timeEl(t.created_at), ` by ${t.created_by}`),
          h('td', { 'data-label': 'Status' }, t.disabled_at ? h('span', {}, '✕ deleted ', timeEl(t.disabled_at)) : h('span', { text: '✓ active' })),
          h('td', {}, can('admin') && !t.disabled_at ? [
            h('button', { type: 'button', class: 'btn btn-small', text: 'New URL', 'aria-label': `Give trigger ${t.name} a new URL`, onclick: async () => {
              if (!(await confirmDialog({ title: `New URL for “${t.name}”?`, message: 'The current URL stops working at once; update your alerting tool.', confirmLabel: 'Rotate URL' }))) return;
              try {
                const res = await post(envUrl(forEnv, 'triggers', String(t.id), 'rotate'), {});
                await drawTriggers();
                triggers.append(secretBox(location.origin + res.path, 'trigger URL'));
              } catch (e) {
                app.error(e);
              }
            } }), ' ',
            h('button', { type: 'button', class: 'btn btn-small btn-danger-outline', text: 'Delete', 'aria-label': `Delete trigger ${t.name}`, onclick: async () => {
              if (!(await confirmDialog({ title: `Delete trigger “${t.name}”?`, message: 'Its URL answers 404 from now on.', confirmLabel: 'Delete trigger', danger: true }))) return;
              try {
                await api('DELETE', envUrl(forEnv, 'triggers', String(t.id)));
                drawTriggers();
              } catch (e) {
                app.error(e);
              }
            } })] : null))))));
    }
    if (can('admin')) {
      const name = h('input', { id: 'trg-name', 'data-path': 'name', autocomplete: 'off', placeholder: 'e.g. alertmanager-checkout-5xx' });
      const action = select([['kill', 'Kill the flag'], ['restore', 'Restore the flag']], 'kill', { id: 'trg-action', 'data-path': 'action' });
      const resolve = h('input', { type: 'checkbox', id: 'trg-resolve', 'data-path': 'restore_on_resolve' });
      const form = h('form', { class: 'stack', novalidate: true },
        h('div', { class: 'error-summary', role: 'alert', hidden: true }),
        h('div', { class: 'grid-2' },
          h('div', { class: 'field' }, h('label', { for: 'trg-name', text: 'Name (shown in the audit log)' }), name),
          h('div', { class: 'field' }, h('label', { for: 'trg-action', text: 'When the alert fires' }), action)),
        h('div', { class: 'check' }, resolve, h('label', { for: 'trg-resolve', text: 'Restore the flag when the alert resolves' })),
        h('div', {}, h('button', { type: 'submit', class: 'btn', text: 'Create trigger URL' })));
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        clearErrors(form);
        try {
          const res = await post(envUrl(forEnv, 'triggers'), { name: name.value.trim(), action: action.value, restore_on_resolve: resolve.checked });
          await drawTriggers();
          triggers.append(secretBox(location.origin + res.path, 'trigger URL'));
        } catch (err) {
          showErrors(form, err instanceof ApiError && err.errors.length ? err.errors : [{ path: 'name', message: describe(err) }]);
        }
      });
      triggers.append(h('h3', { text: 'New trigger' }), form, out);
    }
  }

  // ---- Live updates -------------------------------------------------------------
  const off = live.on(async (m) => {
    if (!def || disposed) return;
    if (m.type === 'resync') return onRemote(m.env);
    if (m.type !== 'change') return;
    if ((m.data.deleted_flags || []).includes(flag)) {
      // Archived (the definition is still there) or deleted.
      get(url('projects', project, 'flags', flag)).then((d) => {
        if (disposed || !d.archived_at || def.archived_at) return;
        app.notify(`“${flag}” was archived.`, { kind: 'warning' });
        load();
      }).catch(() => app.notify(`“${flag}” was deleted.`, { kind: 'warning', timeout: 0 }));
      return;
    }
    if ((m.data.flags || []).some((f) => f.key === flag)) {
      if (def.archived_at) return load(); // restored from the archive
      onRemote(m.env);
    }
  });

  async function onRemote(e) {
    let rec;
    try {
      rec = await get(envUrl(e));
    } catch {
      return;
    }
    if (disposed) return;
    const old = records.get(e);
    if (old && rec.version <= old.version) return;
    records.set(e, rec);
    drawTabs();
    const mine = rec.updated_by === app.me?.name;
    if (!mine) app.notify(`“${flag}” changed in ${app.envName(e)} by ${rec.updated_by} (version ${rec.version}).`, { kind: 'live' });
    // Definition changes (variants) come through every environment.
    get(url('projects', project, 'flags', flag)).then((d) => {
      if (!disposed && d.version !== def.version) {
        const defForm = definition.querySelector('form');
        def = d;
        if (!defForm || !defForm.contains(document.activeElement)) drawDefinition();
      }
    }).catch(() => {});
    if (e !== env) return;
    // A plan's stage is a configuration write, its rollback a kill.
    release?.refresh();
    scheduled?.refresh();
    requests?.refresh();
    drawStatus();
    refreshHistory();
    if (!rebase(rec)) {
      if (!dirty) {
        base = rec;
        drawTargeting(rec.config);
      } else if (!staleNotice) {
        staleNotice = h('p', { class: 'stale' }, h('span', { 'aria-hidden': 'true', text: '⚠ ' }),
          `${rec.updated_by} changed the targeting in ${app.envName(e)} while you were editing (now version ${rec.version}). Saving will show both changes so you can reapply yours.`);
        conflict.hidden = false;
        clear(conflict);
        conflict.append(staleNotice);
      }
    }
  }

  app.unsaved = () => dirty;
  const onEnvSwitch = (ev) => selectEnv(ev.detail);
  window.addEventListener('switchyard:env', onEnvSwitch);

  load();
  return () => {
    disposed = true;
    telemetry?.dispose();
    release?.dispose();
    scheduled?.dispose();
    usage?.dispose();
    off();
    window.removeEventListener('switchyard:env', onEnvSwitch);
  };
}

function pick(obj, fields) {
  const out = {};
  for (const f of fields) if (obj && obj[f] !== undefined) out[f] = obj[f];
  return out;
}
