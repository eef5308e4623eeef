// Login with a local user; the JWT goes to sessionStorage.

import { post, session, ApiError } from '../api.js';
import { h } from '../dom.js';

export function render({ root }) {
  const message = sessionStorage.getItem('switchyard.loginMessage');
  sessionStorage.removeItem('switchyard.loginMessage');
  const user = h('input', { id: 'login-username', name: 'username', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false' });
  const pass = h('input', { id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const error = h('p', { class: 'form-error', id: 'login-error', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block', text: 'Sign in' });
  const form = h('form', { class: 'login-form stack', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'login-username', text: 'User name' }), user),
    h('div', { class: 'field' }, h('label', { for: 'login-password', text: 'Password' }), pass),
    error,
    submit);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    if (!user.value.trim() || !pass.value) {
      error.textContent = 'Enter your user name and password.';
      (user.value.trim() ? pass : user).focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = 'Signing in…';
    try {
      const res = await post('/api/v1/auth/login', { username: user.value.trim(), password: pass.value });
      session.set({ token: res.token, expires_at: res.expires_at, role: res.role, username: res.username });
      location.hash = '#/';
    } catch (err) {
      error.textContent = err instanceof ApiError && err.status === 401
        ? 'Wrong user name or password.'
        : (err.message || 'Sign-in failed.');
      pass.select();
      pass.focus();
    } finally {
      submit.disabled = false;
      submit.textContent = 'Sign in';
    }
  });
  root.append(h('section', { class: 'login' },
    h('div', { class: 'login-card' },
      h('h1', { text: 'Sign in to Switchyard' }),
      h('p', { class: 'muted', text: 'Feature flags and kill switches.' }),
      message ? h('p', { class: 'notice notice-warning', role: 'status', text: message }) : null,
      form)));
  user.focus();
}
