// The targeting editor (individual targets, ordered rules with clauses,
// variant or percentage rollout, fallthrough), its read-only summary, the
// rollout sliders (always summing to 100 %) and the variants editor.
//
// The editor keeps a draft object and re-renders a section on structural
// changes. Every control carries `data-path` with the API's field path
// (`rules[0].clauses[1].values`), so validation errors land next to it.

import { h, clear, select, nextId, splitList } from './dom.js';
import { prerequisitesEditor, prerequisitesSummary } from './prerequisites.js';

export const TOTAL = 100000;

export const OPERATORS = [
  ['equals', 'equals'],
  ['in', 'is one of'],
  ['contains', 'contains'],
  ['starts_with', 'starts with'],
  ['ends_with', 'ends with'],
  ['matches', 'matches regex'],
  ['lt', '< (less than)'],
  ['lte', '≤ (at most)'],
  ['gt', '> (greater than)'],
  ['gte', '≥ (at least)'],
  ['semver_eq', 'semver ='],
  ['semver_lt', 'semver <'],
  ['semver_lte', 'semver ≤'],
  ['semver_gt', 'semver >'],
  ['semver_gte', 'semver ≥'],
  ['before', 'is before (date)'],
  ['after', 'is after (date)'],
  ['exists', 'exists'],
  ['in_segment', 'is in segment'],
];
const OP_LABEL = Object.fromEntries(OPERATORS);

const NUMERIC = new Set(['lt', 'lte', 'gt', 'gte']);
const TYPED = new Set(['equals', 'in']);
const DATES = new Set(['before', 'after']);

const clone = (v) => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));

/** "30", "33.333": a weight in units of 1/100 000 as a percentage. */
export function pct(weight) {
  return String(Math.round(weight) / 1000).replace(/(\.\d{3})\d+$/, '$1');
}

/** Parses the values text of a clause (one per line) into JSON values for `op`. */
export function parseValues(text, op) {
  const lines = String(text || '').split('\n').map((s) => s.trim()).filter(Boolean);
  return lines.map((s) => {
    if (NUMERIC.has(op)) {
      const n = Number(s);
      return s !== '' && Number.isFinite(n) ? n : s;
    }
    if (DATES.has(op) && /^-?\d+$/.test(s)) return Number(s);
    if (TYPED.has(op)) {
      if (/^".*"$/.test(s)) {
        try {
          return JSON.parse(s);
        } catch {
          return s;
        }
      }
      if (s === 'true') return true;
      if (s === 'false') return false;
      if (/^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(s)) return Number(s);
    }
    return s;
  });
}

/** The inverse of parseValues. */
export function formatValues(values, op) {
  return (values || []).map((v) => {
    if (typeof v === 'string' && TYPED.has(op) && (/^(true|false|-?\d+(\.\d+)?([eE][+-]?\d+)?)$/.test(v) || /^".*"$/.test(v))) return JSON.stringify(v);
    return typeof v === 'string' ? v : JSON.stringify(v);
  }).join('\n');
}

/** Rebalances rollout weights so that they sum to TOTAL after arm `i` is set to `value`. */
export function rebalance(weights, i, value) {
  const w = weights.slice();
  const n = w.length;
  if (n === 1) return [TOTAL];
  const v = Math.max(0, Math.min(TOTAL, Math.round(value)));
  w[i] = v;
  const others = [...Array(n).keys()].filter((j) => j !== i);
  const rest = TOTAL - v;
  const sumOthers = others.reduce((s, j) => s + weights[j], 0);
  let assigned = 0;
  for (const j of others) {
    w[j] = sumOthers > 0 ? Math.floor((weights[j] * rest) / sumOthers) : Math.floor(rest / others.length);
    assigned += w[j];
  }
  // Hand out the rounding remainder, largest arms first.
  let left = rest - assigned;
  const order = others.slice().sort((a, b) => w[b] - w[a] || a - b);
  for (let k = 0; left > 0; k = (k + 1) % order.length, left--) w[order[k]] += 1;
  return w;
}

function ruleId() {
  return `rule-${Math.random().toString(36).slice(2, 8)}`;
}

/** Short text of what a serve serves. */
export function serveText(serve) {
  if (!serve) return '—';
  if (serve.variant !== undefined) return `serve “${serve.variant}”`;
  if (serve.rollout) {
    const arms = (serve.rollout.variations || []).filter((v) => v.weight > 0).map((v) => `${pct(v.weight)}% “${v.variant}”`).join(', ');
    return `roll out ${arms} (by ${serve.rollout.bucket_by || 'key'})`;
  }
  return JSON.stringify(serve);
}

export function clauseText(c) {
  const values = (c.values || []).map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(', ');
  const not = c.negate ? 'NOT ' : '';
  if (c.op === 'in_segment') return `${not}in segment ${values}`;
  if (c.op === 'exists') return `${not}${c.attribute} exists`;
  return `${not}${c.attribute} ${OP_LABEL[c.op] || c.op} ${values}`;
}

/** A read-only rendering of a configuration (for viewers and responders). */
export function summary(config) {
  const box = h('div', { class: 'summary' });
  box.append(h('p', {}, h('strong', { text: 'Off variant: ' }), `“${config.off_variant}”`,
    config.fail_safe_variant ? ` · fail-safe “${config.fail_safe_variant}”` : ''));
  const prerequisites = prerequisitesSummary(config);
  if (prerequisites) box.append(prerequisites);
  box.append(h('h3', { text: 'Individual targets' }));
  if (!(config.targets || []).length) box.append(h('p', { class: 'muted', text: 'None.' }));
  else box.append(h('ul', {}, config.targets.map((t) => h('li', {}, `“${t.variant}” ← `, h('span', { class: 'mono', text: t.keys.join(', ') })))));
  box.append(h('h3', { text: 'Rules' }));
  if (!(config.rules || []).length) box.append(h('p', { class: 'muted', text: 'None.' }));
  else {
    box.append(h('ol', { class: 'rule-summary' }, config.rules.map((r) => h('li', {},
      r.description ? h('span', { class: 'rule-desc', text: `${r.description}: ` }) : null,
      'if ', (r.clauses || []).length ? r.clauses.map(clauseText).join(' AND ') : 'every context',
      ' → ', serveText(r.serve)))));
  }
  box.append(h('h3', { text: 'Otherwise' }), h('p', { text: serveText(config.fallthrough) }));
  return box;
}

/** Percentage rollout: one slider and one number per variant; always 100 %. */
function rolloutEditor(variants, rollout, base, onChange) {
  const keys = variants.map((v) => v.key);
  const existing = new Map((rollout.variations || []).map((v) => [v.variant, v.weight]));
  let weights = keys.map((k) => existing.get(k) || 0);
  const sum = weights.reduce((a, b) => a + b, 0);
  if (sum !== TOTAL) weights = sum > 0 ? rebalance(weights, 0, weights[0] + (TOTAL - sum)) : keys.map((_, i) => (i === 0 ? TOTAL : 0));
  const box = h('fieldset', { class: 'rollout', 'data-path': `${base}.rollout.variations`, tabindex: '-1' });
  box.append(h('legend', { text: 'Percentage rollout' }));
  const rows = [];
  const total = h('p', { class: 'rollout-total', 'aria-live': 'polite' });
  const write = (notify = true) => {
    rollout.variations = keys.map((k, i) => ({ variant: k, weight: weights[i] })).filter((v) => v.weight > 0);
    rows.forEach((r, i) => {
      r.range.value = String(weights[i]);
      r.range.setAttribute('aria-valuetext', `${pct(weights[i])} percent`);
      if (document.activeElement !== r.num) r.num.value = pct(weights[i]);
    });
    total.textContent = `Total: ${pct(weights.reduce((a, b) => a + b, 0))}% (always 100 %; moving one slider rebalances the others)`;
    if (notify) onChange();
  };
  keys.forEach((k, i) => {
    const id = nextId('ro');
    const range = h('input', { type: 'range', min: 0, max: TOTAL, step: 100, id, 'data-variant': k, disabled: keys.length === 1 });
    const num = h('input', { type: 'number', min: 0, max: 100, step: 'any', class: 'pct-input', 'aria-label': `Percent for “${k}”`, 'data-variant': k, inputmode: 'decimal', disabled: keys.length === 1 });
    range.addEventListener('input', () => {
      weights = rebalance(weights, i, Number(range.value));
      write();
    });
    num.addEventListener('change', () => {
      const v = Number(num.value);
      if (!Number.isFinite(v)) return write();
      weights = rebalance(weights, i, v * 1000);
      write();
    });
    rows.push({ range, num });
    box.append(h('div', { class: 'rollout-row' },
      h('label', { for: id, class: 'rollout-label' }, h('span', { class: 'mono', text: k })),
      range, h('span', { class: 'pct' }, num, h('span', { 'aria-hidden': 'true', text: ' %' }))));
  });
  const bucketId = nextId('bb');
  const bucket = h('input', { id: bucketId, value: rollout.bucket_by || '', placeholder: 'key', 'data-path': `${base}.rollout.bucket_by`, class: 'narrow', autocomplete: 'off' });
  bucket.addEventListener('input', () => {
    if (bucket.value.trim()) rollout.bucket_by = bucket.value.trim();
    else delete rollout.bucket_by;
    onChange();
  });
  box.append(total, h('div', { class: 'inline-field' }, h('label', { for: bucketId, text: 'Bucket by attribute' }), bucket,
    h('span', { class: 'hint', text: 'Empty: the context key. The same value always lands in the same bucket.' })));
  write(false);
  return box;
}

/** Edits a serve (`{variant}` or `{rollout}`) in place on `holder[prop]`. */
function serveEditor(variants, holder, prop, base, onChange) {
  const box = h('div', { class: 'serve' });
  const name = nextId('serve');
  const mode = () => (holder[prop] && holder[prop].rollout ? 'rollout' : 'variant');
  const body = h('div', { class: 'serve-body' });
  const draw = () => {
    clear(body);
    if (mode() === 'variant') {
      const id = nextId('sv');
      const sel = select(variants.map((v) => [v.key, v.name ? `${v.key} (${v.name})` : v.key]), holder[prop].variant, { id, 'data-path': `${base}.variant` });
      if (!variants.some((v) => v.key === holder[prop].variant)) {
        sel.prepend(h('option', { value: holder[prop].variant, text: `${holder[prop].variant} (unknown variant)` }));
        sel.value = holder[prop].variant;
      }
      sel.addEventListener('change', () => {
        holder[prop] = { variant: sel.value };
        onChange();
      });
      body.append(h('div', { class: 'inline-field' }, h('label', { for: id, text: 'Variant' }), sel));
    } else {
      body.append(rolloutEditor(variants, holder[prop].rollout, base, onChange));
    }
  };
  const radio = (value, label) => {
    const id = nextId('sm');
    const input = h('input', { type: 'radio', name, id, value, checked: mode() === value, 'data-serve-mode': value });
    input.addEventListener('change', () => {
      if (!input.checked) return;
      if (value === 'variant') {
        const first = holder[prop].rollout?.variations?.find((v) => v.weight > 0)?.variant || variants[0]?.key;
        holder[prop] = { variant: first };
      } else {
        const current = holder[prop].variant;
        const idx = Math.max(0, variants.findIndex((v) => v.key === current));
        holder[prop] = { rollout: { variations: [{ variant: variants[idx]?.key, weight: TOTAL }] } };
      }
      draw();
      onChange();
    });
    return h('span', { class: 'radio' }, input, h('label', { for: id, text: label }));
  };
  box.append(h('div', { class: 'serve-mode', role: 'radiogroup', 'aria-label': 'What to serve' },
    h('span', { class: 'serve-label', text: 'Serve' }), radio('variant', 'a variant'), radio('rollout', 'a percentage rollout')), body);
  draw();
  return box;
}

/** One clause row (attribute, NOT, operator, values) editing `rule.clauses[c]` in place. */
function clauseEditor(rule, rulePath, c, { segments, attrList, segList, label }, redraw, onChange) {
  const clause = rule.clauses[c];
  const base = `${rulePath}.clauses[${c}]`;
  const aId = nextId('ca');
  const oId = nextId('co');
  const vId = nextId('cv');
  const nId = nextId('cn');
  const attr = h('input', { id: aId, value: clause.attribute || '', 'data-path': `${base}.attribute`, list: attrList, autocomplete: 'off', spellcheck: 'false', autocapitalize: 'none' });
  const neg = h('input', { type: 'checkbox', id: nId, checked: !!clause.negate, 'data-path': `${base}.negate` });
  const op = select(OPERATORS, clause.op, { id: oId, 'data-path': `${base}.op` });
  const values = h('textarea', { id: vId, rows: 1, 'data-path': `${base}.values`, value: formatValues(clause.values, clause.op), spellcheck: 'false' });
  const hint = h('span', { class: 'hint', id: `${vId}-hint` });
  values.setAttribute('aria-describedby', hint.id);
  const attrField = h('div', { class: 'field' }, h('label', { for: aId, text: 'Attribute' }), attr);
  const valuesField = h('div', { class: 'field grow' }, h('label', { for: vId, text: 'Values (one per line)' }), values, hint);
  const sync = () => {
    attrField.hidden = clause.op === 'in_segment';
    valuesField.hidden = clause.op === 'exists';
    hint.textContent = clause.op === 'in_segment' ? `Segment keys${segments.length ? `: ${segments.slice(0, 6).join(', ')}${segments.length > 6 ? ', …' : ''}` : ' (no segments yet)'}`
      : NUMERIC.has(clause.op) ? 'Numbers.'
        : DATES.has(clause.op) ? 'RFC 3339 times like 2025-01-31T12:00:00Z, or epoch milliseconds.'
          : clause.op.startsWith('semver') ? 'Versions like 1.2.3 or 2.0.0-beta.1.'
            : clause.op === 'matches' ? 'Regular expressions (Rust regex syntax).'
              : TYPED.has(clause.op) ? 'Numbers and true/false are typed; quote them ("42") to compare as text.' : 'Text.';
    values.rows = Math.min(6, Math.max(1, (clause.values || []).length));
  };
  attr.addEventListener('input', () => {
    clause.attribute = attr.value.trim();
    onChange();
  });
  neg.addEventListener('change', () => {
    if (neg.checked) clause.negate = true;
    else delete clause.negate;
    onChange();
  });
  op.addEventListener('change', () => {
    clause.op = op.value;
    if (clause.op === 'exists') clause.values = [];
    else clause.values = parseValues(values.value, clause.op);
    if (clause.op === 'in_segment') clause.attribute = '';
    sync();
    onChange();
  });
  values.addEventListener('input', () => {
    clause.values = parseValues(values.value, clause.op);
    values.rows = Math.min(6, Math.max(1, values.value.split('\n').length));
    onChange();
  });
  sync();
  return h('li', { class: 'clause' },
    c > 0 ? h('span', { class: 'and', text: 'AND' }) : h('span', { class: 'and', text: 'IF' }),
    h('div', { class: 'clause-fields' },
      attrField,
      h('div', { class: 'check negate' }, neg, h('label', { for: nId, text: 'NOT' })),
      h('div', { class: 'field' }, h('label', { for: oId, text: 'Operator' }), op),
      valuesField,
      h('button', { type: 'button', class: 'btn btn-small btn-quiet', 'aria-label': `Remove condition ${c + 1} of ${label}`, text: 'Remove', onclick: () => {
        rule.clauses.splice(c, 1);
        redraw();
        onChange();
      } })));
}

/**
 * The editor. `flag`: the definition (variants); `config`: the config to
 * start from; `segments`: segment keys for `in_segment`; `flags`: the
 * project's other flags (`{key, variants}`) for prerequisites. Returns
 * `{el, getConfig()}`; `onChange` fires on every edit.
 */
export function targetingEditor({ flag, config, segments = [], flags = [], onChange = () => {} }) {
  const draft = clone(config);
  delete draft.kill;
  draft.targets = draft.targets || [];
  draft.rules = draft.rules || [];
  const variants = flag.variants || [];
  const variantOptions = variants.map((v) => [v.key, v.name ? `${v.key} (${v.name})` : v.key]);
  const el = h('div', { class: 'targeting' });
  const segList = nextId('segs');
  const attrList = nextId('attrs');
  el.append(h('datalist', { id: segList }, segments.map((s) => h('option', { value: s }))),
    h('datalist', { id: attrList }, ['key', 'email', 'country', 'plan', 'app_version', 'platform', 'created_at'].map((s) => h('option', { value: s }))));

  // Off / fail-safe variants.
  const basics = h('section', { class: 'editor-section' });
  const drawBasics = () => {
    clear(basics);
    const offId = nextId('off');
    const off = select(variantOptions, draft.off_variant, { id: offId, 'data-path': 'off_variant' });
    off.addEventListener('change', () => {
      draft.off_variant = off.value;
      onChange();
    });
    const fsId = nextId('fs');
    const fs = select([['', 'None (use the caller’s default)'], ...variantOptions], draft.fail_safe_variant || '', { id: fsId, 'data-path': 'fail_safe_variant' });
    fs.addEventListener('change', () => {
      if (fs.value) draft.fail_safe_variant = fs.value;
      else delete draft.fail_safe_variant;
      onChange();
    });
    basics.append(h('div', { class: 'grid-2' },
      h('div', { class: 'field' }, h('label', { for: offId, text: 'Off variant (served when off or killed)' }), off),
      h('div', { class: 'field' }, h('label', { for: fsId, text: 'Fail-safe variant (SDK without data)' }), fs)));
  };

  // Individual targets.
  const targets = h('section', { class: 'editor-section', 'aria-labelledby': 'targets-h' });
  const drawTargets = (focusLast) => {
    clear(targets);
    targets.append(h('h3', { id: 'targets-h', text: 'Individual targets' }),
      h('p', { class: 'hint', text: 'These context keys always get the chosen variant (checked before rules).' }));
    const list = h('div', { class: 'target-list', 'data-path': 'targets' });
    draft.targets.forEach((t, i) => {
      const vId = nextId('tv');
      const kId = nextId('tk');
      const v = select(variantOptions, t.variant, { id: vId, 'data-path': `targets[${i}].variant` });
      v.addEventListener('change', () => {
        t.variant = v.value;
        onChange();
      });
      const keys = h('textarea', { id: kId, rows: 2, 'data-path': `targets[${i}].keys`, value: t.keys.join('\n'), spellcheck: 'false' });
      keys.addEventListener('input', () => {
        t.keys = splitList(keys.value);
        onChange();
      });
      list.append(h('div', { class: 'target-row' },
        h('div', { class: 'field' }, h('label', { for: vId, text: 'Variant' }), v),
        h('div', { class: 'field grow' }, h('label', { for: kId, text: 'Context keys (one per line or comma separated)' }), keys),
        h('button', { type: 'button', class: 'btn btn-small btn-quiet', 'aria-label': `Remove targets for ${t.variant}`, text: 'Remove', onclick: () => {
          draft.targets.splice(i, 1);
          drawTargets();
          onChange();
          targets.querySelector('button')?.focus();
        } })));
    });
    targets.append(list, h('button', { type: 'button', class: 'btn btn-small', text: '+ Add individual targets', 'data-action': 'add-target', onclick: () => {
      draft.targets.push({ variant: variants[0]?.key, keys: [] });
      drawTargets(true);
      onChange();
    } }));
    if (focusLast) targets.querySelectorAll('textarea').item(draft.targets.length - 1)?.focus();
  };

  // Rules.
  const rules = h('section', { class: 'editor-section', 'aria-labelledby': 'rules-h' });
  const clauseRow = (rule, i, c, redraw) => clauseEditor(rule, `rules[${i}]`, c, { segments, attrList, segList, label: `rule ${i + 1}` }, redraw, onChange);
  const drawRules = (focus) => {
    clear(rules);
    rules.append(h('h3', { id: 'rules-h', text: 'Rules' }),
      h('p', { class: 'hint', text: 'Checked in order; the first rule whose conditions all match decides.' }));
    const list = h('ol', { class: 'rule-list', 'data-path': 'rules' });
    draft.rules.forEach((rule, i) => {
      rule.clauses = rule.clauses || [];
      const dId = nextId('rd');
      const iId = nextId('ri');
      const desc = h('input', { id: dId, value: rule.description || '', 'data-path': `rules[${i}].description`, autocomplete: 'off' });
      desc.addEventListener('input', () => {
        if (desc.value.trim()) rule.description = desc.value;
        else delete rule.description;
        onChange();
      });
      const id = h('input', { id: iId, value: rule.id, 'data-path': `rules[${i}].id`, class: 'narrow mono', autocomplete: 'off', spellcheck: 'false' });
      id.addEventListener('input', () => {
        rule.id = id.value.trim();
        onChange();
      });
      const clauses = h('ol', { class: 'clause-list', 'data-path': `rules[${i}].clauses` });
      const redraw = () => {
        clear(clauses);
        rule.clauses.forEach((_, c) => clauses.append(clauseRow(rule, i, c, redraw)));
        if (!rule.clauses.length) clauses.append(h('li', { class: 'muted', text: 'No conditions: this rule matches every context.' }));
      };
      redraw();
      const move = (delta) => {
        const j = i + delta;
        if (j < 0 || j >= draft.rules.length) return;
        [draft.rules[i], draft.rules[j]] = [draft.rules[j], draft.rules[i]];
        drawRules({ rule: j, action: delta < 0 ? 'up' : 'down' });
        onChange();
      };
      list.append(h('li', { class: 'rule', 'data-rule': String(i) },
        h('div', { class: 'rule-head' },
          h('h4', { text: `Rule ${i + 1}` }),
          h('div', { class: 'rule-tools' },
            h('button', { type: 'button', class: 'btn btn-small btn-quiet', 'data-action': 'up', disabled: i === 0, 'aria-label': `Move rule ${i + 1} up`, text: '↑ Up', onclick: () => move(-1) }),
            h('button', { type: 'button', class: 'btn btn-small btn-quiet', 'data-action': 'down', disabled: i === draft.rules.length - 1, 'aria-label': `Move rule ${i + 1} down`, text: '↓ Down', onclick: () => move(1) }),
            h('button', { type: 'button', class: 'btn btn-small btn-quiet danger-text', 'aria-label': `Delete rule ${i + 1}`, text: 'Delete', onclick: () => {
              draft.rules.splice(i, 1);
              drawRules({ add: true });
              onChange();
            } }))),
        h('div', { class: 'grid-2' },
          h('div', { class: 'field' }, h('label', { for: dId, text: 'Description' }), desc),
          h('div', { class: 'field' }, h('label', { for: iId, text: 'Rule id' }), id)),
        clauses,
        h('button', { type: 'button', class: 'btn btn-small', 'data-action': 'add-clause', text: '+ Add condition', onclick: () => {
          rule.clauses.push({ attribute: '', op: 'in', values: [] });
          redraw();
          onChange();
          clauses.querySelectorAll('input[data-path$=".attribute"]').item(rule.clauses.length - 1)?.focus();
        } }),
        serveEditor(variants, rule, 'serve', `rules[${i}].serve`, onChange)));
    });
    if (!draft.rules.length) list.append(h('li', { class: 'muted', text: 'No rules.' }));
    rules.append(list, h('button', { type: 'button', class: 'btn btn-small', 'data-action': 'add-rule', text: '+ Add rule', onclick: () => {
      draft.rules.push({ id: ruleId(), clauses: [{ attribute: '', op: 'in', values: [] }], serve: { variant: variants[0]?.key } });
      drawRules({ rule: draft.rules.length - 1, newRule: true });
      onChange();
    } }));
    if (focus && focus.rule !== undefined) {
      const li = rules.querySelector(`li.rule[data-rule="${focus.rule}"]`);
      if (focus.newRule) li?.querySelector('input[data-path$=".attribute"]')?.focus();
      else li?.querySelector(`button[data-action="${focus.action}"]:not([disabled])`)?.focus() || li?.querySelector('button')?.focus();
    } else if (focus?.add) rules.querySelector('button[data-action="add-rule"]')?.focus();
  };

  // Fallthrough.
  const fall = h('section', { class: 'editor-section', 'aria-labelledby': 'fall-h' });
  const fallBox = h('div', { 'data-path': 'fallthrough' });
  fall.append(h('h3', { id: 'fall-h', text: 'Otherwise (fallthrough)' }),
    h('p', { class: 'hint', text: 'Served when targeting is on and no target or rule matched.' }), fallBox);
  fallBox.append(serveEditor(variants, draft, 'fallthrough', 'fallthrough', onChange));

  drawBasics();
  drawTargets();
  drawRules();
  const prerequisites = prerequisitesEditor({ draft, flags: flags.filter((f) => f.key !== flag.key), onChange });
  el.append(prerequisites, targets, rules, fall, basics);
  return {
    el,
    getConfig() {
      const out = clone(draft);
      out.targets = out.targets.filter((t) => t.keys.length || t.variant);
      if (!out.prerequisites?.length) delete out.prerequisites;
      return out;
    },
  };
}

/** Edits variants (key, value, name); returns the element. */
export function variantsEditor(kind, variants, editable) {
  const box = h('div', { class: 'variants-editor', 'data-kind': kind, 'data-path': 'variants' });
  const list = h('div', { class: 'variant-rows' });
  const addRow = (v, i) => {
    const kId = nextId('vk');
    const valId = nextId('vv');
    const nId = nextId('vn');
    const key = h('input', { id: kId, value: v.key || '', class: 'variant-key mono', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'none', disabled: !editable });
    let value;
    if (kind === 'boolean') {
      value = select([['true', 'true'], ['false', 'false']], String(v.value ?? true), { id: valId, class: 'variant-value', disabled: !editable });
    } else if (kind === 'json') {
      value = h('textarea', { id: valId, rows: 2, class: 'variant-value mono', value: JSON.stringify(v.value ?? null, null, 0), spellcheck: 'false', disabled: !editable });
    } else {
      value = h('input', { id: valId, class: 'variant-value', type: kind === 'number' ? 'number' : 'text', step: kind === 'number' ? 'any' : null, value: v.value ?? '', disabled: !editable });
    }
    const name = h('input', { id: nId, value: v.name || '', class: 'variant-name', autocomplete: 'off', disabled: !editable });
    const row = h('div', { class: 'variant-row' },
      h('div', { class: 'field' }, h('label', { for: kId, text: 'Key' }), key),
      h('div', { class: 'field grow' }, h('label', { for: valId, text: `Value (${kind})` }), value),
      h('div', { class: 'field' }, h('label', { for: nId, text: 'Name (optional)' }), name),
      editable ? h('button', { type: 'button', class: 'btn btn-small btn-quiet', text: 'Remove', 'aria-label': 'Remove variant', onclick: () => {
        row.remove();
        renumber();
      } }) : null);
    row._description = v.description;
    list.append(row);
    renumber();
    return row;
  };
  const renumber = () => {
    [...list.children].forEach((row, i) => {
      row.querySelector('.variant-key').dataset.path = `variants[${i}].key`;
      row.querySelector('.variant-value').dataset.path = `variants[${i}].value`;
      row.querySelector('.variant-name').dataset.path = `variants[${i}].name`;
    });
  };
  variants.forEach(addRow);
  box.append(list);
  if (editable) {
    box.append(h('button', { type: 'button', class: 'btn btn-small', text: '+ Add variant', 'data-action': 'add-variant', onclick: () => {
      const row = addRow({ key: '', value: kind === 'number' ? 0 : kind === 'json' ? {} : kind === 'boolean' ? false : '' });
      row.querySelector('input')?.focus();
    } }));
  }
  return box;
}

/** Reads a variants editor: `{variants, errors}` (client-side parse errors with paths). */
export function readVariants(box, kind) {
  const errors = [];
  const variants = [...box.querySelectorAll('.variant-row')].map((row, i) => {
    const key = row.querySelector('.variant-key').value.trim();
    const raw = row.querySelector('.variant-value').value;
    let value = raw;
    if (kind === 'boolean') value = raw === 'true';
    else if (kind === 'number') {
      value = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(value)) errors.push({ path: `variants[${i}].value`, message: 'Enter a number.' });
    } else if (kind === 'json') {
      try {
        value = JSON.parse(raw);
      } catch (e) {
        errors.push({ path: `variants[${i}].value`, message: `Not valid JSON: ${e.message}` });
      }
    }
    const name = row.querySelector('.variant-name').value.trim();
    const v = { key, value };
    if (name) v.name = name;
    if (row._description) v.description = row._description;
    return v;
  });
  return { variants, errors };
}

/** Segment rules (any rule matches → in the segment; clauses ANDed). Returns {el, getRules()}. */
export function segmentRulesEditor({ rules, segments = [], onChange = () => {} }) {
  const draft = clone(rules || []);
  const el = h('div', { class: 'segment-rules', 'data-path': 'rules' });
  const attrList = nextId('attrs');
  const segList = nextId('segs');
  const draw = () => {
    clear(el);
    el.append(h('datalist', { id: attrList }, ['key', 'email', 'country', 'plan', 'app_version'].map((s) => h('option', { value: s }))));
    const list = h('ol', { class: 'rule-list' });
    draft.forEach((rule, i) => {
      rule.clauses = rule.clauses || [];
      if (!rule.id) rule.id = ruleId();
      const clauses = h('ol', { class: 'clause-list', 'data-path': `rules[${i}].clauses` });
      const redraw = () => {
        clear(clauses);
        rule.clauses.forEach((_, c) => clauses.append(clauseEditor(rule, `rules[${i}]`, c, { segments, attrList, segList, label: `segment rule ${i + 1}` }, redraw, onChange)));
      };
      redraw();
      list.append(h('li', { class: 'rule' },
        h('div', { class: 'rule-head' }, h('h4', { text: `Rule ${i + 1}` }),
          h('button', { type: 'button', class: 'btn btn-small btn-quiet danger-text', text: 'Delete', 'aria-label': `Delete segment rule ${i + 1}`, onclick: () => {
            draft.splice(i, 1);
            draw();
            onChange();
          } })),
        clauses,
        h('button', { type: 'button', class: 'btn btn-small', text: '+ Add condition', onclick: () => {
          rule.clauses.push({ attribute: '', op: 'in', values: [] });
          redraw();
          onChange();
        } })));
    });
    if (!draft.length) list.append(h('li', { class: 'muted', text: 'No rules: only the included keys are in the segment.' }));
    el.append(list, h('button', { type: 'button', class: 'btn btn-small', text: '+ Add rule', onclick: () => {
      draft.push({ id: ruleId(), clauses: [{ attribute: '', op: 'in', values: [] }] });
      draw();
      onChange();
    } }));
  };
  draw();
  return { el, getRules: () => clone(draft) };
}
