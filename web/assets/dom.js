// Small DOM helpers. User data only ever reaches the page through
// textContent / attribute setters (h()) or through esc() in the few
// batch-rendered HTML strings (the flag list).

/** Escapes text for HTML text and attribute positions. */
export function esc(value) {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

/**
 * Creates an element. `attrs`: `class`, `text`, `on<event>` handlers,
 * `dataset` object, booleans (set when true), everything else setAttribute.
 * Children: nodes, strings (text nodes), arrays, null/false (skipped).
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else if (k === 'checked' || k === 'selected' || k === 'disabled' || k === 'required' || k === 'hidden') el[k] = !!v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

let uid = 0;
/** A unique id for label/input pairs. */
export function nextId(prefix = 'f') {
  uid += 1;
  return `${prefix}-${uid}`;
}

/** A labelled form field: returns the wrapper; the control gets an id. */
export function field(label, control, hint) {
  if (!control.id) control.id = nextId();
  const hintEl = hint ? h('span', { class: 'hint', id: `${control.id}-hint`, text: hint }) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: control.id, text: label }), control, hintEl);
}

export function select(options, value, attrs = {}) {
  const el = h('select', attrs);
  for (const o of options) {
    const [v, label] = Array.isArray(o) ? o : [o, o];
    el.append(h('option', { value: v, text: label, selected: v === value }));
  }
  if (value !== undefined) el.value = value;
  return el;
}

/** State of a flag in one environment, as text plus an icon (never colour alone). */
export function stateOf(env) {
  if (!env) return { key: 'none', icon: '–', label: 'n/a' };
  if (env.killed) return { key: 'killed', icon: '⊘', label: 'Killed' };
  if (env.on) return { key: 'on', icon: '●', label: 'On' };
  return { key: 'off', icon: '○', label: 'Off' };
}

export function stateBadge(env, envName) {
  const s = stateOf(env);
  return h('span', { class: `state state-${s.key}`, title: envName ? `${envName}: ${s.label}` : s.label },
    h('span', { class: 'state-icon', 'aria-hidden': 'true', text: s.icon }), ' ', s.label);
}

export function stateBadgeHtml(env) {
  const s = stateOf(env);
  return `<span class="state state-${s.key}"><span class="state-icon" aria-hidden="true">${s.icon}</span> ${s.label}</span>`;
}

const rtf = typeof Intl !== 'undefined' && Intl.RelativeTimeFormat ? new Intl.RelativeTimeFormat('en', { numeric: 'auto' }) : null;

/** "3 min ago" style. */
export function ago(iso, now = Date.now()) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '';
  const s = Math.round((t - now) / 1000);
  const abs = Math.abs(s);
  if (!rtf) return dtf.format(t);
  if (abs < 45) return rtf.format(s, 'second');
  if (abs < 45 * 60) return rtf.format(Math.round(s / 60), 'minute');
  if (abs < 22 * 3600) return rtf.format(Math.round(s / 3600), 'hour');
  if (abs < 26 * 86400) return rtf.format(Math.round(s / 86400), 'day');
  return dtf.format(t);
}

// One formatter for every timestamp: toLocaleString() builds a new one per call (slow in long lists).
const dtf = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

export function fullTime(iso) {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? String(iso ?? '') : dtf.format(t);
}

export function timeEl(iso) {
  return h('time', { datetime: iso, title: fullTime(iso), text: ago(iso) });
}

export function debounce(fn, ms) {
  let t = null;
  const wrapped = (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
  wrapped.cancel = () => clearTimeout(t);
  return wrapped;
}

export function encodePath(...parts) {
  return parts.map((p) => encodeURIComponent(p)).join('/');
}

/** Splits "a, b\nc" into trimmed non-empty items. */
export function splitList(text) {
  return String(text || '').split(/[\n,]/).map((s) => s.trim()).filter(Boolean);
}

/** A button that copies text to the clipboard. */
export function copyButton(text, label = 'Copy') {
  const b = h('button', { type: 'button', class: 'btn btn-small', text: label });
  b.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(text);
      b.textContent = 'Copied';
    } catch {
      b.textContent = 'Select and copy manually';
    }
  });
  return b;
}

/** Humanises the tail of an error path that had no field of its own: `values[1]` → `value 2`. */
function tailLabel(tail) {
  return tail.replace(/^\./, '').replace(/([a-z_]+)\[(\d+)\]/g, (_, name, i) => `${name.replace(/s$/, '').replace(/_/g, ' ')} ${Number(i) + 1}`).replace(/\./g, ' › ');
}

/** Removes the error messages shown by showErrors(). */
export function clearErrors(container) {
  for (const el of container.querySelectorAll('.field-error[data-generated]')) el.remove();
  for (const el of container.querySelectorAll('[aria-invalid="true"]')) {
    el.removeAttribute('aria-invalid');
    const ids = (el.getAttribute('aria-describedby') || '').split(' ').filter((x) => x && !x.startsWith('err-'));
    if (ids.length) el.setAttribute('aria-describedby', ids.join(' '));
    else el.removeAttribute('aria-describedby');
  }
  const summary = container.querySelector('.error-summary');
  if (summary) {
    summary.hidden = true;
    clear(summary);
  }
}

/**
 * Shows API validation errors (`[{path, code, message}]`) next to the
 * control whose `data-path` names the field, walking up the path
 * (`rules[0].clauses[0].values[1]` → `…values`) when no control has the
 * exact path. Unplaced errors go to the container's `.error-summary`.
 * Focuses the first invalid control. `prefix` is stripped from paths.
 */
export function showErrors(container, errors, { prefix = '' } = {}) {
  clearErrors(container);
  let first = null;
  const unplaced = [];
  errors.forEach((e, n) => {
    let path = String(e.path || '');
    if (prefix && path.startsWith(prefix)) path = path.slice(prefix.length).replace(/^\./, '');
    let target = null;
    let probe = path;
    while (probe) {
      target = container.querySelector(`[data-path="${CSS.escape(probe)}"]`);
      if (target) break;
      const cut = probe.search(/(\[\d+\]|\.[^.[\]]+)$/);
      if (cut <= 0) break;
      probe = probe.slice(0, cut);
    }
    if (!target) {
      unplaced.push(e);
      return;
    }
    let tail = path.slice(probe.length);
    if (tail.startsWith('[')) tail = `${(probe.match(/([a-z_]+)$/) || ['', 'item'])[1]}${tail}`;
    const id = `err-${n}-${Math.random().toString(36).slice(2, 8)}`;
    const msg = h('p', { class: 'field-error', id, 'data-generated': '', 'data-error-path': e.path },
      h('span', { 'aria-hidden': 'true', text: '⚠ ' }), tail ? `${tailLabel(tail)}: ${e.message}` : e.message);
    target.setAttribute('aria-invalid', 'true');
    target.setAttribute('aria-describedby', `${target.getAttribute('aria-describedby') || ''} ${id}`.trim());
    const anchor = target.closest('.field, .inline-field') || target;
    anchor.after(msg);
    if (!first) first = target;
  });
  const summary = container.querySelector('.error-summary');
  if (summary && (unplaced.length || errors.length)) {
    summary.hidden = false;
    summary.append(h('p', { class: 'error-summary-title' }, h('span', { 'aria-hidden': 'true', text: '⚠ ' }),
      `The server rejected the change (${errors.length} problem${errors.length === 1 ? '' : 's'}).`));
    if (unplaced.length) {
      summary.append(h('ul', {}, unplaced.map((e) => h('li', {}, e.path ? h('code', { text: e.path }) : null, e.path ? ': ' : '', e.message))));
    }
  }
  if (first) first.focus();
  else if (summary && !summary.hidden) {
    summary.setAttribute('tabindex', '-1');
    summary.focus();
  }
  return unplaced;
}
