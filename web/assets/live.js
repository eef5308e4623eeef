// Live changes: one SSE stream per environment of the current project,
// read with fetch() + a ReadableStream parser (EventSource cannot send an
// Authorization header). Streams reconnect with jittered backoff; after a
// reconnect a `resync` is emitted so views reload what they show (the
// admin stream does not replay missed changes).
//
// Browsers allow 6 HTTP/1.1 connections per host, so at most MAX_STREAMS
// environments are streamed; further ones are polled for revision changes.

import { session, url, get } from './api.js';

const MAX_STREAMS = 4;
const POLL_MS = 15000;

/** Parses an SSE byte stream; calls onEvent({event, data, id}) per event. */
export async function readSse(body, onEvent, signal) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let event = 'message';
  let data = [];
  let id = null;
  const dispatchLine = (line) => {
    if (line === '') {
      if (data.length) onEvent({ event, data: data.join('\n'), id });
      event = 'message';
      data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const name = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (name === 'event') event = value;
    else if (name === 'data') data.push(value);
    else if (name === 'id') id = value;
  };
  while (!signal?.aborted) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let nl;
    while ((nl = buffer.search(/\r\n|\n|\r/)) !== -1) {
      const line = buffer.slice(0, nl);
      const len = buffer.startsWith('\r\n', nl) ? 2 : 1;
      buffer = buffer.slice(nl + len);
      dispatchLine(line);
    }
  }
}

class Live {
  constructor() {
    this.listeners = new Set();
    this.project = null;
    this.controllers = [];
    this.pollTimer = null;
    this.status = new Map();
  }

  /** Subscribe: fn({type: 'change'|'resync'|'status', env, data}). Returns an unsubscribe function. */
  on(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  emit(msg) {
    for (const fn of [...this.listeners]) {
      try {
        fn(msg);
      } catch (e) {
        // A listener's failure must not stop the others.
        setTimeout(() => {
          throw e;
        });
      }
    }
  }

  /** Follows the environments of `project` (stops following the previous project). */
  follow(project, environments) {
    const keys = environments.map((e) => e.key).join(',');
    if (this.project === project && this.keys === keys) return;
    this.stop();
    this.project = project;
    this.keys = keys;
    const streamed = environments.slice(0, MAX_STREAMS);
    const polled = environments.slice(MAX_STREAMS);
    for (const env of streamed) this.stream(project, env.key);
    if (polled.length) this.poll(project, polled);
  }

  stop() {
    for (const c of this.controllers) c.abort();
    this.controllers = [];
    clearInterval(this.pollTimer);
    this.pollTimer = null;
    this.project = null;
    this.keys = null;
    this.status.clear();
  }

  setStatus(env, state) {
    this.status.set(env, state);
    this.emit({ type: 'status', env, state });
  }

  stream(project, env) {
    const controller = new AbortController();
    this.controllers.push(controller);
    const { signal } = controller;
    let attempt = 0;
    let connectedBefore = false;
    const run = async () => {
      while (!signal.aborted) {
        const s = session.get();
        if (!s) return;
        try {
          const res = await fetch(url('projects', project, 'environments', env, 'stream'), {
            headers: { Authorization: `Bearer ${s.token}`, Accept: 'text/event-stream' },
            signal,
            cache: 'no-store',
          });
          if (res.status === 401 || res.status === 403 || res.status === 404) {
            this.setStatus(env, 'stopped');
            return;
          }
          if (!res.ok || !res.body) throw new Error(`stream answered ${res.status}`);
          attempt = 0;
          this.setStatus(env, 'live');
          if (connectedBefore) this.emit({ type: 'resync', env });
          connectedBefore = true;
          await readSse(res.body, (ev) => {
            if (ev.event !== 'change') return;
            let data;
            try {
              data = JSON.parse(ev.data);
            } catch {
              return;
            }
            this.emit({ type: 'change', env, data });
          }, signal);
        } catch (e) {
          if (signal.aborted) return;
        }
        if (signal.aborted) return;
        this.setStatus(env, 'reconnecting');
        attempt += 1;
        const delay = Math.min(30000, 1000 * 2 ** Math.min(attempt, 5)) * (0.5 + Math.random() / 2);
        await new Promise((r) => setTimeout(r, delay));
      }
    };
    run();
  }

  poll(project, envs) {
    const known = new Map(envs.map((e) => [e.key, e.revision]));
    this.pollTimer = setInterval(async () => {
      try {
        const list = await get(url('projects', project, 'environments'));
        for (const e of list) {
          if (known.has(e.key) && known.get(e.key) !== e.revision) {
            known.set(e.key, e.revision);
            this.emit({ type: 'resync', env: e.key });
          }
        }
      } catch {
        // Try again at the next tick.
      }
    }, POLL_MS);
    for (const e of envs) this.setStatus(e.key, 'polled');
  }
}

export const live = new Live();
