// The flag page's release plan card: the newest plan of the flag in the
// selected environment (GET …/flags/{flag}/releases, newest first) as a stage timeline —
// each stage's share, when it started and ended, and the guard's verdict
// on it with its statistics — and the buttons that steer it (pause,
// resume, promote, abort: POST …/release/{action}). Live: the flag page
// calls refresh() when the flag changes on the stream (every stage is a
// configuration write, a rollback a kill), and the card polls while the
// page is visible for what the stream does not carry (a pause, the guard
// still waiting).
//
// For tests: the card's data-state is `none`, `error` or the plan's state;
// each stage is an <li data-stage="i" data-status="done|current|pending|tripped|aborted">.

import { get, post, url, can, describe } from './api.js';
import { h, clear, timeEl } from './dom.js';
import { confirmDialog } from './dialog.js';

const POLL_MS = 5000;
const STATE_TEXT = {
  awaiting_approval: 'Awaiting approval',
  running: 'Running',
  paused: 'Paused',
  completed: 'Completed',
  aborted: 'Aborted',
  rolled_back: 'Rolled back by the guard',
};
const STATE_CLASS = { awaiting_approval: 'state-off', running: 'state-on', paused: 'state-off', completed: 'state-on', aborted: 'state-none', rolled_back: 'state-killed' };
const VERDICT_TEXT = {
  continue: 'guard passed',
  promoted: 'promoted by hand',
  tripped: 'guard tripped: rolled back',
  aborted: 'aborted',
};

/** The release card of `flag` in `env`. Returns { el, refresh, dispose }. */
export function releaseCard({ app, project, env, envName, flag }) {
  const el = h('div', { class: 'card release-card', id: 'release-card', 'data-state': 'loading' });
  const body = h('div', { class: 'release-body' }, h('p', { class: 'muted', text: 'Loading the release plan…' }));
  el.append(h('div', { class: 'card-head' }, h('h2', { text: `Release plan in ${envName}` })), body);
  const planUrl = (...rest) => url('projects', project, 'environments', env, 'flags', flag, 'release', ...rest);
  let disposed = false;
  let timer = null;
  let token = 0;
  let busy = false;

  async function refresh() {
    const mine = ++token;
    let plans = [];
    try {
      // The list (newest first, [] without a plan): no 4xx for a flag that never had one.
      plans = await get(url('projects', project, 'environments', env, 'flags', flag, 'releases'));
    } catch (e) {
      if (disposed || mine !== token) return;
      clear(body);
      body.append(h('p', { class: 'form-error', text: `The release plan could not be loaded: ${describe(e)}` }));
      el.dataset.state = 'error';
      return;
    }
    if (disposed || mine !== token) return;
    if (plans.length === 0) return drawNone();
    draw(plans[0]);
  }

  function drawNone() {
    el.dataset.state = 'none';
    clear(body);
    body.append(h('p', { class: 'muted' }, 'No release plan for this flag here. Start one with ',
      h('code', { text: `switchyard release start ${flag}` }), ' or POST …/release.'));
  }

  function draw(plan) {
    el.dataset.state = plan.state;
    el.dataset.plan = String(plan.id);
    clear(body);
    const guards = [plan.guards.error_rate && 'error rate', plan.guards.latency_p95 && 'latency p95',
      plan.guards.event && `event “${plan.guards.event}”`].filter(Boolean);
    body.append(
      h('p', { class: 'release-state' },
        h('span', { class: `state ${STATE_CLASS[plan.state] || 'state-none'}`, id: 'release-state', text: STATE_TEXT[plan.state] || plan.state }),
        ` ${plan.treatment} against ${plan.control}; guard: ${guards.length ? guards.join(', ') : 'sample ratio only'}, alpha ${plan.guards.alpha}.`),
      timeline(plan));
    if (plan.summary) body.append(h('p', { class: 'release-summary', id: 'release-summary', text: plan.summary }));
    body.append(actions(plan));
  }

  function timeline(plan) {
    const list = h('ol', { class: 'release-timeline', id: 'release-timeline' });
    plan.stages.forEach((stage, i) => {
      const ran = (plan.history || []).find((e) => e.stage === i);
      let status = 'pending';
      if (ran) status = ran.verdict === 'tripped' ? 'tripped' : ran.verdict === 'aborted' ? 'aborted' : ran.ended_at ? 'done' : 'current';
      const item = h('li', { class: `release-stage stage-${status}`, 'data-stage': String(i), 'data-status': status },
        h('div', { class: 'stage-head' },
          h('strong', { text: `Stage ${i + 1}: ${stage.percent} %` }),
          h('span', { class: 'muted small', text: ` at least ${stage.min_duration_seconds} s, ${stage.min_sample} requests per variant` })));
      if (ran) {
        item.append(h('div', { class: 'stage-times small' }, 'started ', timeEl(ran.started_at),
          ...(ran.ended_at ? [', ended ', timeEl(ran.ended_at)] : [])));
        if (ran.verdict) item.append(h('div', { class: 'stage-verdict', 'data-verdict': ran.verdict, text: VERDICT_TEXT[ran.verdict] || ran.verdict }));
        if (ran.guard) item.append(figures(ran.guard));
        if (ran.summary) item.append(h('p', { class: 'stage-summary small', text: ran.summary }));
      }
      list.append(item);
    });
    return list;
  }

  function actions(plan) {
    const bar = h('div', { class: 'release-actions' });
    const button = (label, action, { danger = false, reason = false, enabled = true } = {}) => {
      if (!enabled) return;
      bar.append(h('button', { type: 'button', class: danger ? 'btn btn-danger btn-small' : 'btn btn-small', 'data-action': action, text: label,
        onclick: () => act(label, action, { danger, reason }) }));
    };
    const running = plan.state === 'running';
    const paused = plan.state === 'paused';
    button('Pause', 'pause', { enabled: running && can('edit') });
    button('Resume', 'resume', { enabled: paused && can('edit') });
    button(plan.stage == null || plan.stage + 1 < plan.stages.length ? 'Promote to the next stage' : 'Complete', 'promote', { enabled: running && can('edit') });
    button('Abort', 'abort', { danger: true, reason: true, enabled: (running || paused || plan.state === 'awaiting_approval') && can('kill') });
    return bar;
  }

  async function act(label, action, { danger, reason }) {
    if (busy) return;
    let why = null;
    if (reason || danger) {
      why = await confirmDialog({ title: `${label} the release plan?`, message: action === 'abort' ? 'Every user goes back to the control variant.' : '', confirmLabel: label, danger, reason });
      if (!why) return;
    }
    busy = true;
    try {
      await post(planUrl(action), typeof why === 'string' ? { reason: why } : {});
      app.notify(`Release plan: ${action} done.`, { kind: 'success' });
    } catch (e) {
      app.notify(`Release plan: ${action} failed: ${describe(e)}`, { kind: 'error', timeout: 0 });
    } finally {
      busy = false;
    }
    refresh();
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

/** The guard's statistics of a stage: each arm's counts, the p-values, or the trip. */
function figures(g) {
  const stats = g.stats || g; // a trip holds { stats, trip }
  const arm = (a) => a && `${a.variant}: ${a.requests} requests, ${a.errors} errors, ${a.exposures} exposures`;
  const rows = [arm(stats.treatment), arm(stats.control)].filter(Boolean).map((t) => h('li', { text: t }));
  const p = (stats.p_values || []).map((m) => `${m.metric} p = ${Number(m.p_value).toPrecision(3)}`);
  if (p.length) rows.push(h('li', { text: p.join(', ') }));
  if (g.trip) {
    const t = g.trip;
    const what = t.kind === 'srm'
      ? `sample ratio mismatch: ${(t.observed_share * 100).toFixed(2)} % observed, ${(t.expected_share * 100).toFixed(2)} % planned`
      : `${t.metric}: ${Number(t.treatment_mean).toPrecision(3)} vs ${Number(t.control_mean).toPrecision(3)}, always-valid p = ${Number(t.p_value).toExponential(2)} ≤ ${Number(t.alpha).toPrecision(2)}`;
    rows.push(h('li', { class: 'trip', 'data-field': 'trip', text: what }));
  }
  return h('ul', { class: 'stage-figures small' }, rows);
}
