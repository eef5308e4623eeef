// The flag list: search, tag and state filters, per-environment state
// (icon + text), variants, owner, last change. Rows are rendered as one
// HTML batch (every value escaped) so that thousands of flags stay fast;
// filtering runs on the loaded list, debounced.

import { getAll, url, can, get, post, ApiError, describe } from '../api.js';
import { h, esc, clear, stateOf, stateBadgeHtml, ago, fullTime, debounce, select, showErrors, splitList } from '../dom.js';
import { live } from '../live.js';
import { openDialog } from '../dialog.js';
import { openPanicDialog } from '../kill.js';
import { variantsEditor, readVariants } from '../targeting.js';

/** The newest change of a flag row: {at, by}. */
function lastChange(f) {
  let at = f.updated_at;
  let by = null;
  for (const e of f.environments || []) {
    if (!at || Date.parse(e.updated_at) >= Date.parse(at)) {
      at = e.updated_at;
      by = e.updated_by;
    }
  }
  return { at, by };
}

export function render({ app, root, project, query }) {
  // `?archived=true`: the archive (archived flags only; no live state).
  const archived = query.get('archived') === 'true';
  let flags = [];
  const byKey = new Map();
  let disposed = false;
  const p = encodeURIComponent(project);

  const search = h('input', { type: 'search', id: 'flag-search', placeholder: 'Key, name or description', autocomplete: 'off', value: query.get('q') || '' });
  const tagSel = select([['', 'All tags']], '', { id: 'flag-tag' });
  const stateSel = select([['', 'Any state'], ['on', '● On'], ['off', '○ Off'], ['killed', '⊘ Killed']], '', { id: 'flag-state' });
  const stateLabel = h('label', { for: 'flag-state' });
  const count = h('p', { class: 'muted result-count', id: 'flag-count', 'aria-live': 'polite' });
  const table = h('div', { class: 'flag-grid', id: 'flag-table', role: 'table', 'aria-label': `Flags of ${project} with their state per environment`, 'aria-describedby': 'flag-count' });
  const empty = h('div', { class: 'empty', hidden: true });
  const actions = h('div', { class: 'page-actions' });

  actions.append(archived
    ? h('a', { class: 'btn', id: 'active-flags-link', href: `#/projects/${p}/flags`, text: '← Flags in use' })
    : h('a', { class: 'btn', id: 'archived-flags-link', href: `#/projects/${p}/flags?archived=true`, text: 'Archived flags' }));
  if (can('kill') && !archived) {
    actions.append(h('button', { type: 'button', class: 'btn btn-danger-outline', id: 'panic-button', onclick: () => openPanicDialog({ app, project, flags, onDone: () => reload() }) },
      h('span', { 'aria-hidden': 'true', text: '⊘ ' }), 'Panic: kill by tag'));
  }
  if (can('edit') && !archived) {
    actions.append(h('button', { type: 'button', class: 'btn btn-primary', id: 'new-flag', text: 'New flag', onclick: () => newFlagDialog(app, project) }));
  }

  root.append(h('section', { class: 'page' },
    h('div', { class: 'page-head' }, h('h1', { text: archived ? 'Archived flags' : 'Flags' }), actions),
    archived ? h('p', { class: 'hint', text: 'In no SDK snapshot and not editable. Open one to restore it from the archive or delete it.' }) : null,
    app.envs.length ? null : h('p', { class: 'conflict' }, 'This project has no environments yet. ',
      can('admin') ? h('a', { href: `#/projects/${p}/keys`, text: 'Create development, staging and production' }) : 'Ask an admin to create them.'),
    h('div', { class: 'filters', role: 'search', 'aria-label': 'Filter flags' },
      h('div', { class: 'field grow' }, h('label', { for: 'flag-search', text: 'Search' }), search),
      h('div', { class: 'field' }, h('label', { for: 'flag-tag', text: 'Tag' }), tagSel),
      h('div', { class: 'field' }, stateLabel, stateSel)),
    count,
    h('div', { class: 'table-wrap' }, table),
    empty));

  function setStateLabel() {
    stateLabel.textContent = `State in ${app.envName(app.env)}`;
  }
  setStateLabel();

  // The list is an ARIA table made of CSS-grid rows (not a <table>): every
  // row gets `content-visibility: auto`, so rows off screen cost no layout
  // or paint — thousands of flags render in one batch and show at once.
  function columns() {
    return `minmax(0, 2.4fr) repeat(${Math.max(1, app.envs.length)}, minmax(6.5rem, 1fr)) 6rem minmax(0, 1fr) minmax(0, 1.3fr)`;
  }

  function header() {
    const envs = app.envs;
    return `<div role="rowgroup" class="fg-head"><div role="row" class="fg-row">`
      + `<span role="columnheader" class="fg-h">Flag</span>${
        envs.map((e) => `<span role="columnheader" class="fg-h col-env${e.key === app.env ? ' col-current' : ''}">${esc(e.name || e.key)}</span>`).join('')
      }<span role="columnheader" class="fg-h col-num">Variants</span><span role="columnheader" class="fg-h">Owner</span><span role="columnheader" class="fg-h">Last change</span></div></div>`;
  }

  function rowHtml(f) {
    const envs = app.envs;
    const states = new Map((f.environments || []).map((e) => [e.environment, e]));
    const last = lastChange(f);
    const tags = (f.tags || []).map((t) => `<span class="tag">${esc(t)}</span>`).join('');
    const cells = envs.map((e) => {
      const st = states.get(e.key);
      return `<span role="cell" class="fg-c col-env" data-label="${esc(e.name || e.key)}" data-env="${esc(e.key)}" data-state="${stateOf(st).key}">${stateBadgeHtml(st)}</span>`;
    }).join('');
    return `<div role="row" class="fg-row" data-key="${esc(f.key)}"><span role="rowheader" class="fg-c col-flag"><a href="#/projects/${esc(p)}/flags/${esc(encodeURIComponent(f.key))}" class="flag-link">${esc(f.name || f.key)}</a>`
      + `<span class="flag-key"><code>${esc(f.key)}</code>${f.temporary ? '' : ' <span class="pill" title="Permanent flag">permanent</span>'}</span>${tags ? `<span class="tags">${tags}</span>` : ''}</span>`
      + cells
      + `<span role="cell" class="fg-c col-num" data-label="Variants">${(f.variants || []).length}</span>`
      + `<span role="cell" class="fg-c" data-label="Owner">${f.owner ? esc(f.owner) : '<span class="muted">—</span>'}</span>`
      + `<span role="cell" class="fg-c col-last" data-label="Last change">${last.at ? `<time datetime="${esc(last.at)}" title="${esc(fullTime(last.at))}">${esc(ago(last.at))}</time>` : ''}${last.by ? ` <span class="by">by ${esc(last.by)}</span>` : ''}</span></div>`;
  }

  function matches(f, q, tag, state) {
    if (tag && !(f.tags || []).includes(tag)) return false;
    if (state) {
      const st = (f.environments || []).find((e) => e.environment === app.env);
      if (stateOf(st).key !== state) return false;
    }
    if (q) {
      const hay = `${f.key}\n${f.name || ''}\n${f.description || ''}`.toLowerCase();
      if (!hay.includes(q)) return false;
    }
    return true;
  }

  let shown = [];
  let renderSeq = 0;
  function renderRows() {
    const t0 = performance.now();
    const q = search.value.trim().toLowerCase();
    const tag = tagSel.value;
    const state = stateSel.value;
    shown = flags.filter((f) => matches(f, q, tag, state));
    // One batch: build the whole table body as escaped HTML and swap it in.
    table.style.setProperty('--fg-cols', columns());
    table.setAttribute('aria-rowcount', String(shown.length + 1));
    table.innerHTML = `${header()}<div role="rowgroup" class="fg-body">${shown.map(rowHtml).join('')}</div>`;
    const filtered = q || tag || state;
    count.textContent = filtered ? `Showing ${shown.length} of ${flags.length} flags` : `${flags.length} flag${flags.length === 1 ? '' : 's'}`;
    empty.hidden = shown.length > 0;
    clear(empty);
    if (!shown.length) {
      empty.append(flags.length
        ? h('p', { text: 'No flag matches these filters.' })
        : archived ? h('p', { text: 'No archived flag.' })
          : h('p', {}, 'This project has no flags yet.', can('edit') ? ' Create one with “New flag”.' : ''));
    }
    const ms = performance.now() - t0;
    const info = { rows: shown.length, total: flags.length, ms, painted: null };
    window.switchyard.lastRender = info;
    const seq = ++renderSeq;
    // Rows are on screen after the next frame (style, layout, paint): measure that too.
    requestAnimationFrame(() => setTimeout(() => {
      info.painted = performance.now() - t0;
      info.paintedAt = performance.now();
      if (seq === renderSeq) table.dataset.rendered = String(info.rows);
    }, 0));
  }

  function fillTags() {
    const tags = [...new Set(flags.flatMap((f) => f.tags || []))].sort();
    const current = tagSel.value;
    clear(tagSel);
    tagSel.append(h('option', { value: '', text: 'All tags' }), ...tags.map((t) => h('option', { value: t, text: t })));
    tagSel.value = tags.includes(current) ? current : '';
  }

  async function reload() {
    try {
      const items = await getAll(url('projects', project, 'flags'), archived ? { archived: true } : {});
      if (disposed) return;
      flags = items;
      byKey.clear();
      for (const f of flags) byKey.set(f.key, f);
      fillTags();
      renderRows();
    } catch (e) {
      if (!disposed) app.error(e);
    }
  }

  const onSearch = debounce(renderRows, 120);
  search.addEventListener('input', onSearch);
  tagSel.addEventListener('change', renderRows);
  stateSel.addEventListener('change', renderRows);
  const onEnv = () => {
    setStateLabel();
    renderRows();
  };
  window.addEventListener('switchyard:env', onEnv);

  const scheduleReload = debounce(reload, 400);

  function replaceRow(f) {
    const tr = table.querySelector(`.fg-row[data-key="${CSS.escape(f.key)}"]`);
    const visible = matches(f, search.value.trim().toLowerCase(), tagSel.value, stateSel.value);
    if (!tr || !visible) {
      if (!!tr !== visible) renderRows();
      return;
    }
    const hadFocus = tr.contains(document.activeElement);
    const tmp = document.createElement('div');
    tmp.innerHTML = rowHtml(f);
    const fresh = tmp.firstElementChild;
    fresh.classList.add('row-changed');
    tr.replaceWith(fresh);
    if (hadFocus) fresh.querySelector('a')?.focus();
  }

  function describeChange(before, after) {
    if (!before) return 'changed';
    if (!before.killed && after.killed) return 'killed';
    if (before.killed && !after.killed) return 'restored';
    if (before.on !== after.on) return after.on ? 'turned on' : 'turned off';
    return 'changed';
  }

  const off = live.on(async (m) => {
    if (m.type === 'resync') return scheduleReload();
    if (m.type !== 'change') return;
    const { data, env } = m;
    if ((data.deleted_flags || []).length) scheduleReload();
    const changed = data.flags || [];
    const unknown = changed.some((f) => !byKey.has(f.key));
    if (unknown) scheduleReload();
    const few = changed.length <= 10;
    for (const nf of changed) {
      const f = byKey.get(nf.key);
      if (!f) continue;
      f.environments = f.environments || [];
      let st = f.environments.find((e) => e.environment === env);
      const before = st ? { ...st } : null;
      if (!st) {
        st = { environment: env };
        f.environments.push(st);
      }
      if (before && nf.version && before.version && nf.version < before.version) continue;
      Object.assign(st, { on: nf.on, killed: !!nf.kill, version: nf.version, updated_at: new Date().toISOString(), updated_by: nf.kill?.by || st.updated_by });
      f.variants = nf.variants || f.variants;
      replaceRow(f);
      const what = describeChange(before, st);
      if (few) {
        try {
          const rec = await get(url('projects', project, 'environments', env, 'flags', nf.key));
          if (disposed) return;
          if (rec.version >= (st.version || 0)) {
            Object.assign(st, { updated_at: rec.updated_at, updated_by: rec.updated_by, version: rec.version });
            replaceRow(f);
          }
          if (rec.updated_by !== app.me?.name) app.notify(`“${nf.key}” ${what} in ${app.envName(env)} by ${rec.updated_by}.`, { kind: 'live' });
        } catch {
          // The flag may have gone meanwhile: the reload catches up.
        }
      }
    }
    if (!few) app.notify(`${changed.length} flags changed in ${app.envName(env)}.`, { kind: 'live' });
  });

  count.textContent = 'Loading flags…';
  reload();

  return () => {
    disposed = true;
    off();
    onSearch.cancel();
    scheduleReload.cancel();
    window.removeEventListener('switchyard:env', onEnv);
  };
}

/** The "New flag" dialog. */
function newFlagDialog(app, project) {
  const d = openDialog({ title: 'New flag', description: 'Created off in every environment.' });
  const key = h('input', { id: 'nf-key', 'data-path': 'key', required: true, autocomplete: 'off', spellcheck: 'false', autocapitalize: 'none', pattern: '[a-z0-9][a-z0-9_.\\-]*' });
  const name = h('input', { id: 'nf-name', 'data-path': 'name', autocomplete: 'off' });
  const kind = select([['boolean', 'Boolean'], ['string', 'String'], ['number', 'Number'], ['json', 'JSON']], 'boolean', { id: 'nf-kind', 'data-path': 'kind' });
  const desc = h('textarea', { id: 'nf-desc', rows: 2, 'data-path': 'description' });
  const tags = h('input', { id: 'nf-tags', 'data-path': 'tags', autocomplete: 'off' });
  const owner = h('input', { id: 'nf-owner', 'data-path': 'owner', autocomplete: 'off' });
  const temporary = h('input', { id: 'nf-temp', type: 'checkbox', checked: true, 'data-path': 'temporary' });
  const variantsBox = h('div', { class: 'nf-variants' });
  let editor = null;
  const onKind = () => {
    clear(variantsBox);
    editor = null;
    if (kind.value === 'boolean') {
      variantsBox.append(h('p', { class: 'muted', text: 'Boolean flags get the variants “on” (true) and “off” (false).' }));
      return;
    }
    const starter = kind.value === 'number'
      ? [{ key: 'low', value: 0 }, { key: 'high', value: 1 }]
      : kind.value === 'json' ? [{ key: 'a', value: {} }, { key: 'b', value: {} }] : [{ key: 'a', value: 'a' }, { key: 'b', value: 'b' }];
    editor = variantsEditor(kind.value, starter, true);
    variantsBox.append(h('h3', { text: 'Variants' }), editor);
  };
  kind.addEventListener('change', onKind);
  onKind();
  const form = h('form', { class: 'stack', novalidate: true },
    h('div', { class: 'error-summary', role: 'alert', hidden: true }),
    h('div', { class: 'grid-2' },
      h('div', { class: 'field' }, h('label', { for: 'nf-key', text: 'Key' }), key, h('span', { class: 'hint', text: 'Lower case letters, digits, “_”, “.”, “-”. Used in code; cannot change.' })),
      h('div', { class: 'field' }, h('label', { for: 'nf-name', text: 'Name' }), name)),
    h('div', { class: 'grid-2' },
      h('div', { class: 'field' }, h('label', { for: 'nf-kind', text: 'Kind' }), kind),
      h('div', { class: 'field' }, h('label', { for: 'nf-owner', text: 'Owner' }), owner)),
    h('div', { class: 'field' }, h('label', { for: 'nf-tags', text: 'Tags (comma separated)' }), tags),
    h('div', { class: 'field' }, h('label', { for: 'nf-desc', text: 'Description' }), desc),
    h('div', { class: 'check' }, temporary, h('label', { for: 'nf-temp', text: 'Temporary (a release flag to remove later)' })),
    variantsBox);
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', text: 'Create flag', id: 'nf-submit' });
  form.append(h('div', { class: 'dialog-actions' }, h('button', { type: 'button', class: 'btn', text: 'Cancel', onclick: () => d.close() }), submit));
  d.body.append(form);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!key.value.trim()) {
      showErrors(form, [{ path: 'key', message: 'A key is required.' }]);
      return;
    }
    let variants = [];
    if (editor) {
      const read = readVariants(editor, kind.value);
      if (read.errors.length) {
        showErrors(form, read.errors);
        return;
      }
      variants = read.variants;
    }
    submit.disabled = true;
    try {
      const body = {
        key: key.value.trim(),
        name: name.value.trim() || undefined,
        kind: kind.value,
        description: desc.value.trim() || undefined,
        tags: splitList(tags.value),
        owner: owner.value.trim() || undefined,
        temporary: temporary.checked,
        variants,
      };
      const flag = await post(url('projects', project, 'flags'), body);
      d.close();
      app.notify(`Flag “${flag.key}” created (off in every environment).`, { kind: 'success' });
      app.go(`#/projects/${encodeURIComponent(project)}/flags/${encodeURIComponent(flag.key)}`);
    } catch (err) {
      submit.disabled = false;
      if (err instanceof ApiError && (err.status === 422 || err.status === 409)) {
        showErrors(form, err.errors.length ? err.errors : [{ path: 'key', message: err.message }]);
      } else showErrors(form, [{ path: '', message: describe(err) }]);
    }
  });
}
