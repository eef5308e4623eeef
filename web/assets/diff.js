// Readable before/after diffs: a field-level list of what changed, each
// row marked in text ("changed", "added", "removed") and with <del>/<ins>,
// so nothing relies on colour.

import { h } from './dom.js';

const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const isPrimArray = (v) => Array.isArray(v) && v.every((x) => x === null || typeof x !== 'object');

/** Field-level differences: [{path, kind, before, after}]. */
export function diffValues(before, after, path = '', out = []) {
  if (JSON.stringify(before) === JSON.stringify(after)) return out;
  if (before === undefined || after === undefined) {
    const kind = before === undefined ? 'added' : 'removed';
    const v = before === undefined ? after : before;
    // Spell out added/removed objects field by field: easier to read than one JSON blob.
    if ((isObj(v) && Object.keys(v).length) || (Array.isArray(v) && v.length && !isPrimArray(v))) {
      for (const [k, x] of Object.entries(v)) {
        diffValues(kind === 'added' ? undefined : x, kind === 'added' ? x : undefined, Array.isArray(v) ? `${path}[${k}]` : (path ? `${path}.${k}` : k), out);
      }
      return out;
    }
    out.push(kind === 'added' ? { path, kind, after } : { path, kind, before });
    return out;
  }
  if (isObj(before) && isObj(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    for (const k of keys) diffValues(before[k], after[k], path ? `${path}.${k}` : k, out);
    return out;
  }
  if (Array.isArray(before) && Array.isArray(after) && !(isPrimArray(before) && isPrimArray(after))) {
    const n = Math.max(before.length, after.length);
    for (let i = 0; i < n; i++) diffValues(before[i], after[i], `${path}[${i}]`, out);
    return out;
  }
  out.push({ path, kind: 'changed', before, after });
  return out;
}

export function show(v) {
  if (v === undefined) return '—';
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

const MARK = { changed: ['~', 'changed'], added: ['+', 'added'], removed: ['−', 'removed'] };

/**
 * Renders a diff table. For config records (`{version, config, …}`) the
 * config is compared and bookkeeping fields are left out.
 */
export function renderDiff(before, after, { caption } = {}) {
  let b = before;
  let a = after;
  const ignore = new Set(['updated_at', 'updated_by', 'created_at', 'version', 'flag', 'environment']);
  if ((b && b.config) || (a && a.config)) {
    b = b ? b.config : undefined;
    a = a ? a.config : undefined;
  } else {
    b = strip(b, ignore);
    a = strip(a, ignore);
  }
  const rows = diffValues(b, a);
  if (!rows.length) return h('p', { class: 'muted diff-none', text: 'No field changed.' });
  return h('table', { class: 'diff' },
    caption ? h('caption', { text: caption }) : null,
    h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: 'Field' }), h('th', { scope: 'col', text: 'Change' }), h('th', { scope: 'col', text: 'Before' }), h('th', { scope: 'col', text: 'After' }))),
    h('tbody', {}, rows.map((r) => h('tr', { class: `diff-${r.kind}` },
      h('th', { scope: 'row' }, h('code', { text: r.path || '(value)' })),
      h('td', { class: 'diff-kind' }, h('span', { 'aria-hidden': 'true', class: 'diff-mark', text: MARK[r.kind][0] }), ' ', MARK[r.kind][1]),
      h('td', {}, r.kind === 'added' ? h('span', { class: 'muted', text: '—' }) : h('del', { text: show(r.before) })),
      h('td', {}, r.kind === 'removed' ? h('span', { class: 'muted', text: '—' }) : h('ins', { text: show(r.after) }))))));
}

function strip(v, ignore) {
  if (!isObj(v)) return v;
  const out = {};
  for (const [k, x] of Object.entries(v)) if (!ignore.has(k)) out[k] = x;
  return out;
}

/**
 * Three-way merge of top-level fields: mine where I changed a field,
 * theirs elsewhere. Returns {merged, both: [fields changed on both sides]}.
 */
export function merge3(base, mine, theirs, fields) {
  const merged = { ...theirs };
  const both = [];
  for (const f of fields) {
    const iChanged = JSON.stringify(base?.[f]) !== JSON.stringify(mine?.[f]);
    const theyChanged = JSON.stringify(base?.[f]) !== JSON.stringify(theirs?.[f]);
    if (iChanged) {
      if (mine[f] === undefined) delete merged[f];
      else merged[f] = mine[f];
      if (theyChanged && JSON.stringify(mine?.[f]) !== JSON.stringify(theirs?.[f])) both.push(f);
    }
  }
  return { merged, both };
}
