// Prerequisites of a flag in one environment: the flags that must serve a
// given variant for this one to be evaluated past its off variant. An
// editor section for the targeting form and a read-only summary. The
// server refuses loops, unknown flags or variants (the errors land on the
// `prerequisites[i]...` fields through `data-path`).

import { h, clear, select, nextId } from './dom.js';

/** Text of one prerequisite. */
export function prerequisiteText(p) {
  return `“${p.flag}” serves “${p.variant}”`;
}

/** Read-only list (for viewers and responders); null when there are none. */
export function prerequisitesSummary(config) {
  const list = config.prerequisites || [];
  if (!list.length) return null;
  return h('div', { class: 'prerequisites-summary' },
    h('h3', { text: 'Prerequisites' }),
    h('p', { class: 'hint', text: 'Off variant unless every one of these holds for the same context:' }),
    h('ul', {}, list.map((p) => h('li', { text: prerequisiteText(p) }))));
}

/**
 * Edits `draft.prerequisites` in place. `flags`: the project's other flags
 * as `{key, variants: [{key}]}`, for the pickers (a prerequisite naming a
 * flag not in the list is kept and shown as typed).
 */
export function prerequisitesEditor({ draft, flags, onChange }) {
  draft.prerequisites = draft.prerequisites || [];
  const section = h('section', { class: 'editor-section', 'aria-labelledby': 'prereq-h', id: 'prerequisites-section' });
  const variantsOf = (key) => (flags.find((f) => f.key === key)?.variants || []).map((v) => [v.key, v.key]);
  const draw = (focusLast) => {
    clear(section);
    section.append(h('h3', { id: 'prereq-h', text: 'Prerequisites' }),
      h('p', { class: 'hint', text: 'This flag serves its off variant unless each of these flags serves the chosen variant for the same user (a killed or off prerequisite is never met). Checked after the kill switch and on/off, before targets.' }));
    const list = h('div', { class: 'prereq-list', 'data-path': 'prerequisites' });
    draft.prerequisites.forEach((p, i) => {
      const fId = nextId('pf');
      const vId = nextId('pv');
      const known = flags.some((f) => f.key === p.flag);
      const flagOptions = [...(known ? [] : [[p.flag, p.flag || '— choose a flag —']]), ...flags.map((f) => [f.key, f.key])];
      const flagSel = select(flagOptions, p.flag, { id: fId, 'data-path': `prerequisites[${i}].flag` });
      const variantOptions = variantsOf(p.flag);
      const variantSel = select(variantOptions.length ? variantOptions : [[p.variant, p.variant]], p.variant, { id: vId, 'data-path': `prerequisites[${i}].variant` });
      flagSel.addEventListener('change', () => {
        p.flag = flagSel.value;
        p.variant = variantsOf(p.flag)[0]?.[0] || '';
        draw();
        onChange();
      });
      variantSel.addEventListener('change', () => {
        p.variant = variantSel.value;
        onChange();
      });
      list.append(h('div', { class: 'target-row prereq-row' },
        h('div', { class: 'field' }, h('label', { for: fId, text: 'Flag' }), flagSel),
        h('div', { class: 'field' }, h('label', { for: vId, text: 'must serve' }), variantSel),
        h('button', { type: 'button', class: 'btn btn-small btn-quiet', 'aria-label': `Remove prerequisite ${p.flag}`, text: 'Remove', onclick: () => {
          draft.prerequisites.splice(i, 1);
          draw();
          onChange();
          section.querySelector('button')?.focus();
        } })));
    });
    if (!draft.prerequisites.length) list.append(h('p', { class: 'muted', text: 'None: only this flag’s own targeting decides.' }));
    const free = flags.filter((f) => !draft.prerequisites.some((p) => p.flag === f.key));
    section.append(list, h('button', { type: 'button', class: 'btn btn-small', text: '+ Add prerequisite', 'data-action': 'add-prerequisite', disabled: !free.length, onclick: () => {
      const f = free[0];
      draft.prerequisites.push({ flag: f.key, variant: f.variants[0]?.key || '' });
      draw(true);
      onChange();
    } }));
    if (focusLast) section.querySelectorAll('select[data-path$=".flag"]').item(draft.prerequisites.length - 1)?.focus();
  };
  draw();
  return section;
}
