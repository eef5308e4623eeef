// The admin API client and the session (a JWT kept in sessionStorage:
// gone when the tab closes, never sent automatically like a cookie).

const KEY = 'switchyard.session';

/** An API failure: `status` and the RFC 9457 problem body. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
  get errors() {
    return Array.isArray(this.problem.errors) ? this.problem.errors : [];
  }
  get code() {
    return this.problem.code;
  }
}

export const session = {
  get() {
    try {
      const s = JSON.parse(sessionStorage.getItem(KEY) || 'null');
      if (!s || !s.token) return null;
      if (s.expires_at && Date.parse(s.expires_at) <= Date.now()) {
        sessionStorage.removeItem(KEY);
        return null;
      }
      return s;
    } catch {
      return null;
    }
  },
  set(s) {
    sessionStorage.setItem(KEY, JSON.stringify(s));
  },
  clear() {
    sessionStorage.removeItem(KEY);
  },
};

const RANKS = ['viewer', 'responder', 'editor', 'admin'];
// The signed-in user's membership role in the project on screen (issue 19
// §5): there, the higher of it and the global role applies.
let projectRole = null;

/** Sets the membership role in the current project (null: none, or no project). */
export function setProjectRole(role) {
  projectRole = role || null;
}

/** The role that applies on screen: the global one, raised by a membership of the current project. */
export function effectiveRole() {
  const role = session.get()?.role;
  if (!role) return null;
  return RANKS.indexOf(projectRole) > RANKS.indexOf(role) ? projectRole : role;
}

/** Whether the signed-in user is an admin everywhere (users, tokens, projects). */
export function isGlobalAdmin() {
  return session.get()?.role === 'admin';
}

/** What the signed-in role may do (in the current project). */
export function can(what) {
  const role = effectiveRole();
  switch (what) {
    case 'read': return !!role;
    case 'kill': return role === 'responder' || role === 'editor' || role === 'admin';
    case 'edit': return role === 'editor' || role === 'admin';
    case 'admin': return role === 'admin';
    default: return false;
  }
}

let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

/**
 * Calls the API. `body` is sent as JSON. Resolves with the parsed JSON (or
 * null for 204); rejects with ApiError. A 401 ends the session.
 */
export async function api(method, path, body, { signal } = {}) {
  const headers = { Accept: 'application/json' };
  const s = session.get();
  if (s) headers.Authorization = `Bearer ${s.token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal, cache: 'no-store' });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, { title: 'Network error', detail: 'The server could not be reached. Check your connection and try again.' });
  }
  if (res.status === 204) return null;
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = { detail: text };
    }
  }
  if (!res.ok) {
    const err = new ApiError(res.status, data);
    if (res.status === 401 && !path.endsWith('/auth/login')) {
      session.clear();
      onUnauthorized(err);
    }
    throw err;
  }
  return data;
}

export const get = (path, opts) => api('GET', path, undefined, opts);
export const post = (path, body, opts) => api('POST', path, body ?? {}, opts);
export const put = (path, body) => api('PUT', path, body);
export const patch = (path, body) => api('PATCH', path, body);
export const del = (path, body) => api('DELETE', path, body);

/** Builds `/api/v1/projects/{p}/…` with every segment encoded. */
export function url(...parts) {
  return '/api/v1/' + parts.map((p) => encodeURIComponent(p)).join('/');
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, v);
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** Fetches every page of a cursor-paginated list. */
export async function getAll(path, params = {}, limit = 1000) {
  const items = [];
  let cursor;
  for (let i = 0; i < 1000; i++) {
    const page = await get(path + query({ ...params, limit, cursor }));
    items.push(...(page.items || []));
    if (!page.next_cursor) break;
    cursor = page.next_cursor;
  }
  return items;
}

let openapi = null;
/** The OpenAPI document (cached): used to detect optional routes without 404s. */
export async function hasRoute(pathTemplateSuffix) {
  if (!openapi) {
    try {
      openapi = await get('/api/openapi.json');
    } catch {
      openapi = { paths: {} };
    }
  }
  return Object.keys(openapi.paths || {}).some((p) => p.endsWith(pathTemplateSuffix));
}

/** Human text for an error, for notices. */
export function describe(err) {
  if (!(err instanceof ApiError)) return String(err?.message || err);
  if (err.status === 403) return `Not allowed: ${err.problem.detail || 'your role cannot do this'}.`;
  if (err.status === 404) return `Not found: ${err.problem.detail || ''}`;
  const list = err.errors.map((e) => `${e.path}: ${e.message}`).join('; ');
  return list ? `${err.message} — ${list}` : err.message;
}
