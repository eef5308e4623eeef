// Renders /api/openapi.json as a grouped list of operations. No dependencies.
(async function () {
  const root = document.getElementById('ops');
  const res = await fetch('/api/openapi.json');
  if (!res.ok) {
    root.textContent = `Could not load /api/openapi.json (${res.status}).`;
    return;
  }
  const doc = await res.json();
  const byTag = {};
  for (const [path, item] of Object.entries(doc.paths || {})) {
    for (const [method, op] of Object.entries(item)) {
      const tag = (op.tags && op.tags[0]) || 'other';
      (byTag[tag] = byTag[tag] || []).push({ path, method, op });
    }
  }
  root.textContent = '';
  for (const tag of Object.keys(byTag).sort()) {
    const h = document.createElement('h2');
    h.textContent = tag;
    root.appendChild(h);
    for (const { path, method, op } of byTag[tag]) {
      const div = document.createElement('div');
      div.className = 'op';
      const m = document.createElement('span');
      m.className = `m ${method}`;
      m.textContent = method.toUpperCase();
      const p = document.createElement('code');
      p.textContent = path;
      const d = document.createElement('p');
      d.textContent = op.summary || op.description || '';
      const det = document.createElement('details');
      const s = document.createElement('summary');
      s.textContent = 'parameters, body and responses';
      const pre = document.createElement('pre');
      pre.textContent = JSON.stringify({ parameters: op.parameters, requestBody: op.requestBody, responses: op.responses }, null, 2);
      det.append(s, pre);
      div.append(m, p, d, det);
      root.appendChild(div);
    }
  }
})();
