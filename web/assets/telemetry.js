// The flag page's telemetry card: per-variant charts of what SDKs with
// telemetry on report (GET …/flags/{flag}/telemetry): evaluations per
// step, error rate and latency p95 of recorded requests. Charts are drawn
// with uPlot (vendored from its npm package by tools/vendor-uplot.sh into
// assets/vendor/, loaded on first use: a <script src> and a <link>, both
// same-origin, so the CSP needs no exception). Refreshed by polling while
// the page is visible: telemetry arrives in SDK batches (every 10 s by
// default), not over the change stream.
//
// For tests and the curious: window.switchyard.charts holds the live uPlot
// instances by name (evaluations, errors, latency); `.data` is what is drawn.

import { get, url, query, describe } from './api.js';
import { h, clear } from './dom.js';

const POLL_MS = 10000;
const COLORS = ['#1f6feb', '#1a7f37', '#b42318', '#8250df', '#bf8700', '#0a7ea4', '#d1246f', '#57606a'];
const RANGES = [
  { key: '1h', label: 'Last hour', seconds: 3600, step: 60 },
  { key: '6h', label: 'Last 6 hours', seconds: 6 * 3600, step: 300 },
  { key: '24h', label: 'Last 24 hours', seconds: 24 * 3600, step: 900 },
  { key: '7d', label: 'Last 7 days', seconds: 7 * 24 * 3600, step: 3600 },
];

let loading = null;
/** Loads uPlot and its stylesheet once (same-origin files). */
export function loadUplot() {
  if (window.uPlot) return Promise.resolve(window.uPlot);
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const entry = document.querySelector('script[type="module"][src*="app.js"]');
      const v = entry ? new URL(entry.src).searchParams.get('v') || '' : '';
      document.head.append(h('link', { rel: 'stylesheet', href: `/assets/vendor/uPlot.min.css?v=${v}` }));
      const script = h('script', { src: `/assets/vendor/uPlot.iife.min.js?v=${v}` });
      script.addEventListener('load', () => resolve(window.uPlot));
      script.addEventListener('error', () => {
        loading = null;
        script.remove();
        reject(new Error('the chart library did not load'));
      });
      document.head.append(script);
    });
  }
  return loading;
}

function registry() {
  if (!window.switchyard) window.switchyard = {};
  if (!window.switchyard.charts) window.switchyard.charts = {};
  return window.switchyard.charts;
}

const pct = (x) => (x == null ? '—' : `${(x * 100).toFixed(x < 0.001 && x > 0 ? 3 : 2)} %`);
const ms = (x) => (x == null ? '—' : `${x >= 100 ? Math.round(x) : x.toFixed(1)} ms`);
const count = (x) => (x == null ? '—' : Number(x).toLocaleString('en'));

/** The chart definitions: name, title, unit formatter, value of a point. */
// `unit` formats a legend value, `tick` an axis label. Error rate and
// latency have gaps (steps without requests), so their points are drawn.
const CHARTS = [
  { name: 'evaluations', title: 'Evaluations', unit: count, tick: count, value: (p) => p.evaluations },
  { name: 'errors', title: 'Error rate', unit: (x) => (x == null ? '—' : `${x.toFixed(2)} %`), tick: (x) => `${+x.toFixed(2)} %`, value: (p) => (p.error_rate == null ? null : p.error_rate * 100), needsRequests: true },
  { name: 'latency', title: 'Latency p95', unit: (x) => (x == null ? '—' : `≤ ${x} ms`), tick: (x) => `${+x.toFixed(1)} ms`, value: (p) => p.latency_p95_ms, needsRequests: true },
];

/**
 * The telemetry card of `flag` in `env`. Returns { el, dispose }.
 */
export function telemetryCard({ project, env, envName, flag }) {
  const el = h('div', { class: 'card telemetry-card', id: 'telemetry-card', 'data-state': 'loading' });
  let range = RANGES[0];
  let disposed = false;
  let timer = null;
  let token = 0;
  let charts = new Map(); // name -> { u, key }
  let observer = null;

  const body = h('div', { class: 'telemetry-body' }, h('p', { class: 'muted', text: 'Loading telemetry…' }));
  const rangeSelect = h('select', { id: 'telemetry-range', 'aria-label': 'Time range' },
    RANGES.map((r) => h('option', { value: r.key, text: r.label, selected: r === range })));
  rangeSelect.addEventListener('change', () => {
    range = RANGES.find((r) => r.key === rangeSelect.value) || RANGES[0];
    destroyCharts();
    refresh();
  });
  const updated = h('span', { class: 'muted small', id: 'telemetry-updated', 'aria-live': 'off' });
  el.append(h('div', { class: 'card-head' }, h('h2', { text: `Telemetry in ${envName}` }),
    h('div', { class: 'telemetry-tools' }, updated, rangeSelect)), body);

  function destroyCharts() {
    const reg = registry();
    for (const [name, c] of charts) {
      c.u.destroy();
      if (reg[name] === c.u) delete reg[name];
    }
    charts = new Map();
    observer?.disconnect();
    observer = null;
  }

  async function refresh() {
    const mine = ++token;
    const to = new Date();
    const from = new Date(to.getTime() - range.seconds * 1000);
    let data;
    let uPlot;
    try {
      [data, uPlot] = await Promise.all([
        get(url('projects', project, 'environments', env, 'flags', flag, 'telemetry') + query({ from: from.toISOString(), to: to.toISOString(), step: range.step })),
        loadUplot(),
      ]);
    } catch (e) {
      if (disposed || mine !== token) return;
      destroyCharts();
      clear(body);
      body.append(h('p', { class: 'form-error', id: 'telemetry-error', text: `Telemetry could not be loaded: ${describe(e)}` }));
      el.dataset.state = 'error';
      return;
    }
    if (disposed || mine !== token) return;
    draw(data, uPlot);
    updated.textContent = `updated ${new Date().toLocaleTimeString()}`;
    el.dataset.refreshes = String(Number(el.dataset.refreshes || 0) + 1);
  }

  function draw(data, uPlot) {
    const t = data.totals;
    if (!data.variants.length || (t.evaluations === 0 && t.requests === 0)) {
      destroyCharts();
      clear(body);
      body.append(h('div', { class: 'telemetry-empty', id: 'telemetry-empty' },
        h('p', { text: `No telemetry for this flag in ${envName} in the ${range.label.toLowerCase()}.` }),
        h('p', { class: 'hint', text: 'SDKs built with telemetry(true) report evaluations per variant, and the outcomes of requests they record, every 10 seconds. See the README (SDK telemetry).' })));
      el.dataset.state = 'empty';
      return;
    }
    const key = data.variants.map((v) => v.variant).join('\u0000') + `|${t.requests > 0}`;
    if (el.dataset.state !== 'charts' || [...charts.values()].some((c) => c.key !== key)) build(data, uPlot, key);
    else for (const def of CHARTS) charts.get(def.name)?.u.setData(series(data, def));
    fillTotals(data);
    el.dataset.state = 'charts';
  }

  let totals = null;
  function build(data, uPlot, key) {
    destroyCharts();
    clear(body);
    const grid = h('div', { class: 'chart-grid' });
    totals = h('table', { class: 'simple telemetry-totals', id: 'telemetry-totals' });
    const noRequests = data.totals.requests === 0;
    for (const def of CHARTS) {
      const box = h('figure', { class: 'chart', id: `chart-${def.name}`, 'data-chart': def.name },
        h('figcaption', { text: `${def.title} per ${stepLabel(data.step_seconds)}, by variant` }));
      grid.append(box);
      if (def.needsRequests && noRequests) {
        box.append(h('p', { class: 'muted small chart-none', text: 'No request outcomes recorded (client.record or the tower layer).' }));
        continue;
      }
      const plot = h('div', { class: 'chart-plot' });
      box.append(plot);
      const u = new uPlot(options(def, data, width(grid)), series(data, def), plot);
      charts.set(def.name, { u, key });
      registry()[def.name] = u;
    }
    body.append(grid, h('h3', { class: 'small-head', text: `Totals, ${range.label.toLowerCase()}` }), totals);
    observer = new ResizeObserver(() => {
      const w = width(grid);
      for (const c of charts.values()) if (Math.abs(c.u.width - w) > 4) c.u.setSize({ width: w, height: c.u.height });
    });
    observer.observe(grid);
  }

  function fillTotals(data) {
    clear(totals);
    totals.append(h('thead', {}, h('tr', {}, ['Variant', 'Evaluations', 'Requests', 'Errors', 'Error rate', 'Latency p95', 'Mean'].map((x) => h('th', { scope: 'col', text: x })))),
      h('tbody', {}, data.variants.map((v, i) => h('tr', { 'data-variant': v.variant },
        h('th', { scope: 'row', 'data-label': 'Variant' }, h('span', { class: 'swatch', 'data-color': String(i % COLORS.length), 'aria-hidden': 'true' }), h('code', { text: v.variant })),
        h('td', { 'data-label': 'Evaluations', 'data-field': 'evaluations', text: count(v.totals.evaluations) }),
        h('td', { 'data-label': 'Requests', 'data-field': 'requests', text: count(v.totals.requests) }),
        h('td', { 'data-label': 'Errors', 'data-field': 'errors', text: count(v.totals.errors) }),
        h('td', { 'data-label': 'Error rate', 'data-field': 'error_rate', text: pct(v.totals.error_rate) }),
        h('td', { 'data-label': 'Latency p95', 'data-field': 'latency_p95_ms', text: v.totals.latency_p95_ms == null ? '—' : `≤ ${ms(v.totals.latency_p95_ms)}` }),
        h('td', { 'data-label': 'Mean', 'data-field': 'latency_mean_ms', text: ms(v.totals.latency_mean_ms) })))));
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
      destroyCharts();
    },
  };
}

function stepLabel(seconds) {
  if (seconds === 60) return 'minute';
  if (seconds % 3600 === 0) return seconds === 3600 ? 'hour' : `${seconds / 3600} hours`;
  return `${seconds / 60} minutes`;
}

function width(grid) {
  return Math.max(240, Math.floor(grid.clientWidth || 600));
}

/** uPlot's data: [x (unix seconds), one array per variant]. */
function series(data, def) {
  const first = data.variants[0];
  const xs = first ? first.points.map((p) => Date.parse(p.at) / 1000) : [];
  return [xs, ...data.variants.map((v) => v.points.map(def.value))];
}

function options(def, data, w) {
  return {
    width: w,
    height: 170,
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true }, y: { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1] } },
    axes: [
      { stroke: '#5b6675', grid: { stroke: '#eef1f4' } },
      { stroke: '#5b6675', grid: { stroke: '#eef1f4' }, size: 72, values: (u, vals) => vals.map((x) => def.tick(x)) },
    ],
    series: [
      { label: 'time' },
      ...data.variants.map((v, i) => ({
        label: v.variant,
        stroke: COLORS[i % COLORS.length],
        width: 2,
        spanGaps: false,
        points: def.needsRequests ? { show: true, size: 6, fill: COLORS[i % COLORS.length] } : { size: 4 },
        value: (u, x) => def.unit(x),
      })),
    ],
  };
}
