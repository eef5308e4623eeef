// Modal dialogs: role="dialog", aria-modal, labelled by their title,
// focus trapped inside (and the page behind made inert), Esc closes,
// focus returns to the element that opened it.

import { h } from './dom.js';

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

let counter = 0;

/**
 * Opens a dialog. Returns `{el, body, footer, close, setBusy}`.
 * `onClose` runs once when it closes (Esc, Cancel or close()).
 */
export function openDialog({ title, description, onClose, className = '' }) {
  counter += 1;
  const titleId = `dlg-title-${counter}`;
  const descId = `dlg-desc-${counter}`;
  const opener = document.activeElement;
  const body = h('div', { class: 'dialog-body' });
  const footer = h('div', { class: 'dialog-footer' });
  const closeBtn = h('button', { type: 'button', class: 'dialog-x', 'aria-label': 'Close dialog', text: '×' });
  const el = h('div', {
    class: `dialog ${className}`,
    role: 'dialog',
    'aria-modal': 'true',
    'aria-labelledby': titleId,
    'aria-describedby': description ? descId : null,
  },
  h('div', { class: 'dialog-head' }, h('h2', { id: titleId, text: title }), closeBtn),
  description ? h('p', { id: descId, class: 'dialog-desc', text: description }) : null,
  body,
  footer);
  const backdrop = h('div', { class: 'backdrop' }, el);
  const background = [...document.body.children].filter((c) => c !== backdrop && !c.inert);
  for (const c of background) c.inert = true;
  document.body.append(backdrop);
  document.body.classList.add('modal-open');

  let closed = false;
  function close(result) {
    if (closed) return;
    closed = true;
    backdrop.remove();
    for (const c of background) c.inert = false;
    if (!document.querySelector('.backdrop')) document.body.classList.remove('modal-open');
    document.removeEventListener('keydown', onKey, true);
    if (opener && opener.isConnected && typeof opener.focus === 'function') opener.focus();
    onClose?.(result);
  }
  function onKey(e) {
    if (!backdrop.isConnected || backdrop !== [...document.querySelectorAll('.backdrop')].pop()) return;
    if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      close();
    } else if (e.key === 'Tab') {
      const items = [...el.querySelectorAll(FOCUSABLE)].filter((x) => x.offsetParent !== null || x === document.activeElement);
      if (!items.length) {
        e.preventDefault();
        return;
      }
      const first = items[0];
      const last = items[items.length - 1];
      if (!el.contains(document.activeElement)) {
        e.preventDefault();
        first.focus();
      } else if (e.shiftKey && document.activeElement === first) {
        e.preventDefault();
        last.focus();
      } else if (!e.shiftKey && document.activeElement === last) {
        e.preventDefault();
        first.focus();
      }
    }
  }
  document.addEventListener('keydown', onKey, true);
  closeBtn.addEventListener('click', () => close());
  backdrop.addEventListener('mousedown', (e) => {
    if (e.target === backdrop && !el.classList.contains('busy')) close();
  });

  const api = {
    el,
    body,
    footer,
    close,
    get closed() {
      return closed;
    },
    setBusy(busy) {
      el.classList.toggle('busy', busy);
      el.setAttribute('aria-busy', busy ? 'true' : 'false');
    },
    focusFirst() {
      const target = el.querySelector('[autofocus]') || el.querySelector('input, textarea, select') || el.querySelector(FOCUSABLE);
      target?.focus();
    },
  };
  queueMicrotask(() => api.focusFirst());
  return api;
}

/** A yes/no confirmation with an optional required reason. Resolves to the reason (or true) or null. */
export function confirmDialog({ title, message, confirmLabel = 'Confirm', danger = false, reason = false, reasonLabel = 'Reason' }) {
  return new Promise((resolve) => {
    let result = null;
    const d = openDialog({ title, description: message, onClose: () => resolve(result) });
    const form = h('form', { class: 'stack', novalidate: true });
    let input = null;
    const err = h('p', { class: 'field-error', hidden: true });
    if (reason) {
      input = h('textarea', { rows: 2, required: true, autofocus: true, 'aria-required': 'true', name: 'reason' });
      const id = `confirm-reason-${counter}`;
      input.id = id;
      form.append(h('div', { class: 'field' }, h('label', { for: id, text: reasonLabel }), input, err));
    }
    const ok = h('button', { type: 'submit', class: danger ? 'btn btn-danger' : 'btn btn-primary', text: confirmLabel });
    const cancel = h('button', { type: 'button', class: 'btn', text: 'Cancel', onclick: () => d.close() });
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      if (input && !input.value.trim()) {
        err.textContent = 'A reason is required.';
        err.hidden = false;
        input.setAttribute('aria-invalid', 'true');
        input.focus();
        return;
      }
      result = input ? input.value.trim() : true;
      d.close(result);
    });
    d.body.append(form);
    d.footer.append(cancel, ok);
    // Footer buttons live outside the form: submit it explicitly.
    ok.addEventListener('click', (e) => {
      e.preventDefault();
      form.requestSubmit();
    });
  });
}
