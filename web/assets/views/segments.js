// Segments: reusable sets of contexts (included / excluded keys, rules).

import { get, post, put, del, url, can, ApiError, describe } from '../api.js';
import { h, clear, timeEl, showErrors, clearErrors, splitList } from '../dom.js';
import { openDialog, confirmDialog } from '../dialog.js';
import { segmentRulesEditor, clauseText } from '../targeting.js';
import { merge3 } from '../diff.js';

const FIELDS = ['name', 'description', 'included', 'excluded', 'rules'];

export function render(ctx) {
  return ctx.segment ? renderOne(ctx) : renderList(ctx);
}

function renderList({ app, root, project }) {
  let disposed = false;
  const p = encodeURIComponent(project);
  const table = h('table', { class: 'simple', id: 'segment-table' });
  const actions = h('div', { class: 'page-actions' });
  if (can('edit')) actions.append(h('button', { type: 'button', class: 'btn btn-primary', id: 'new-segment', text: 'New segment', onclick: () => createDialog(app, project) }));
  root.append(h('section', { class: 'page' },
    h('div', { class: 'page-head' }, h('h1', { text: 'Segments' }), actions),
    h('p', { class: 'hint', text: 'Reusable sets of users for the “is in segment” condition: explicit keys plus rules.' }),
    h('div', { class: 'table-wrap' }, table)));
  get(url('projects', project, 'segments')).then((segs) => {
    if (disposed) return;
    table.append(h('thead', {}, h('tr', {}, ['Segment', 'Included', 'Excluded', 'Rules', 'Version', 'Updated'].map((t) => h('th', { scope: 'col', text: t })))));
    const body = h('tbody');
    for (const s of segs) {
      body.append(h('tr', {},
        h('th', { scope: 'row' }, h('a', { href: `#/projects/${p}/segments/${encodeURIComponent(s.key)}`, text: s.name || s.key }), ' ', h('code', { class: 'muted', text: s.key })),
        h('td', { 'data-label': 'Included', text: String((s.included || []).length) }),
        h('td', { 'data-label': 'Excluded', text: String((s.excluded || []).length) }),
        h('td', { 'data-label': 'Rules', text: String((s.rules || []).length) }),
        h('td', { 'data-label': 'Version', text: String(s.version) }),
        h('td', { 'data-label': 'Updated' }, timeEl(s.updated_at))));
    }
    if (!segs.length) body.append(h('tr', {}, h('td', { colspan: 6, class: 'muted', text: 'No segments yet.' })));
    table.append(body);
  }).catch((e) => !disposed && app.error(e));
  return () => {
    disposed = true;
  };
}

function createDialog(app, project) {
  const d = openDialog({ title: 'New segment' });
  const key = h('input', { id: 'ns-key', 'data-path': 'key', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'none' });
  const name = h('input', { id: 'ns-name', 'data-path': 'name', autocomplete: 'off' });
  const desc = h('textarea', { id: 'ns-desc', rows: 2, 'data-path': 'description' });
  const form = h('form', { class: 'stack', novalidate: true },
    h('div', { class: 'error-summary', role: 'alert', hidden: true }),
    h('div', { class: 'field' }, h('label', { for: 'ns-key', text: 'Key' }), key),
    h('div', { class: 'field' }, h('label', { for: 'ns-name', text: 'Name' }), name),
    h('div', { class: 'field' }, h('label', { for: 'ns-desc', text: 'Description' }), desc),
    h('div', { class: 'dialog-actions' }, h('button', { type: 'button', class: 'btn', text: 'Cancel', onclick: () => d.close() }), h('button', { type: 'submit', class: 'btn btn-primary', text: 'Create segment' })));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const s = await post(url('projects', project, 'segments'), { key: key.value.trim(), name: name.value.trim() || undefined, description: desc.value.trim() || undefined });
      d.close();
      app.go(`#/projects/${encodeURIComponent(project)}/segments/${encodeURIComponent(s.key)}`);
    } catch (err) {
      showErrors(form, err instanceof ApiError && err.errors.length ? err.errors : [{ path: 'key', message: describe(err) }]);
    }
  });
  d.body.append(form);
}

function renderOne({ app, root, project, segment }) {
  let disposed = false;
  let segKeys = [];
  const p = encodeURIComponent(project);
  const page = h('section', { class: 'page' });
  root.append(page);
  const segUrl = url('projects', project, 'segments', segment);

  async function load() {
    try {
      const [seg, all] = await Promise.all([get(segUrl), get(url('projects', project, 'segments'))]);
      if (disposed) return;
      segKeys = all.map((s) => s.key).filter((k) => k !== segment);
      draw(seg, seg);
    } catch (e) {
      if (!disposed) {
        clear(page);
        page.append(h('h1', { text: segment }), h('p', { class: 'form-error', text: describe(e) }));
      }
    }
  }

  function draw(base, values, note) {
    clear(page);
    page.append(h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: `#/projects/${p}/segments`, text: 'Segments' }), ' › ', h('span', { 'aria-current': 'page', text: base.key })),
      h('div', { class: 'page-head' }, h('h1', { text: base.name || base.key }), h('span', { class: 'muted', text: `version ${base.version}` })));
    if (!can('edit')) {
      page.append(h('div', { class: 'card' },
        base.description ? h('p', { text: base.description }) : null,
        h('h2', { text: 'Included keys' }), h('p', { class: 'mono', text: (base.included || []).join(', ') || '—' }),
        h('h2', { text: 'Excluded keys' }), h('p', { class: 'mono', text: (base.excluded || []).join(', ') || '—' }),
        h('h2', { text: 'Rules' }),
        (base.rules || []).length ? h('ol', {}, base.rules.map((r) => h('li', { text: (r.clauses || []).map(clauseText).join(' AND ') || 'every context' }))) : h('p', { class: 'muted', text: 'None.' })));
      return;
    }
    const name = h('input', { id: 'seg-name', value: values.name || '', 'data-path': 'name', autocomplete: 'off' });
    const desc = h('textarea', { id: 'seg-desc', rows: 2, value: values.description || '', 'data-path': 'description' });
    const inc = h('textarea', { id: 'seg-inc', rows: 3, value: (values.included || []).join('\n'), 'data-path': 'included', spellcheck: 'false' });
    const exc = h('textarea', { id: 'seg-exc', rows: 3, value: (values.excluded || []).join('\n'), 'data-path': 'excluded', spellcheck: 'false' });
    const rules = segmentRulesEditor({ rules: values.rules || [], segments: segKeys });
    const save = h('button', { type: 'submit', class: 'btn btn-primary', text: 'Save segment' });
    const remove = h('button', { type: 'button', class: 'btn btn-danger-outline', text: 'Delete segment' });
    const form = h('form', { class: 'card stack', novalidate: true },
      note ? h('p', { class: 'conflict', role: 'alert', text: note }) : null,
      h('div', { class: 'error-summary', role: 'alert', hidden: true }),
      h('div', { class: 'grid-2' },
        h('div', { class: 'field' }, h('label', { for: 'seg-name', text: 'Name' }), name),
        h('div', { class: 'field' }, h('label', { for: 'seg-desc', text: 'Description' }), desc)),
      h('div', { class: 'grid-2' },
        h('div', { class: 'field' }, h('label', { for: 'seg-inc', text: 'Always included keys (one per line)' }), inc),
        h('div', { class: 'field' }, h('label', { for: 'seg-exc', text: 'Always excluded keys (win over everything)' }), exc)),
      h('h2', { text: 'Rules (a context matching any rule is in the segment)' }), rules.el,
      h('div', { class: 'save-actions' }, remove, save));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      clearErrors(form);
      const mine = { name: name.value.trim(), description: desc.value.trim(), included: splitList(inc.value), excluded: splitList(exc.value), rules: rules.getRules() };
      try {
        const saved = await put(segUrl, { key: base.key, version: base.version, ...mine });
        app.notify(`Segment “${saved.key}” saved (version ${saved.version}).`, { kind: 'success' });
        draw(saved, saved);
      } catch (err) {
        if (err instanceof ApiError && err.status === 409) {
          const latest = await get(segUrl).catch(() => null);
          if (!latest) return app.error(err);
          const { merged, both } = merge3(base, mine, latest, FIELDS);
          draw(latest, { ...latest, ...merged }, `The segment changed meanwhile (now version ${latest.version}). Nothing was saved; your edits are reapplied on the latest version — review and save again.${both.length ? ` Both changed: ${both.join(', ')}.` : ''}`);
        } else showErrors(form, err instanceof ApiError && err.errors.length ? err.errors : [{ path: '', message: describe(err) }]);
      }
    });
    remove.addEventListener('click', async () => {
      if (!(await confirmDialog({ title: `Delete segment “${base.key}”?`, message: 'Flags that use it must stop using it first.', confirmLabel: 'Delete', danger: true }))) return;
      try {
        await del(segUrl);
        app.notify(`Segment “${base.key}” deleted.`, { kind: 'success' });
        app.go(`#/projects/${p}/segments`);
      } catch (err) {
        app.alert(err.status === 409 ? `Cannot delete: ${err.message}` : describe(err));
      }
    });
    page.append(form);
  }
  load();
  return () => {
    disposed = true;
  };
}
