// The API: one URL builder over the server's catalog of analyses, fetch, and the report's shim.
//
// The catalog (`<script type="application/json" id="shoplens-catalog">`, written by the server)
// names each analysis with its path and its parameters in canonical order. A URL is that path
// and those parameters in that order, empty ones left out: the one form a report looks its
// answers up by.

// A report (`shoplens report`) is this page with the answers for one selection embedded:
// `{"filter": {...}, "vs": "...", "answers": {"<canonical url>": <json or null>}}`.
export const report = window.SHOPLENS_REPORT || null;

const catalog = new Map(JSON.parse(document.getElementById("shoplens-catalog").textContent).map((a) => [a.name, a]));

export const has = (name) => catalog.has(name);

// The canonical URL of analysis `name` for `params` (an object; extra keys are ignored).
export function url(name, params = {}) {
  const a = catalog.get(name);
  if (!a) throw Object.assign(new Error(`this server has no analysis "${name}"`), { status: 404 });
  const q = new URLSearchParams();
  let path = a.path;
  for (const p of a.params) {
    const v = params[p];
    if (v === undefined || v === null || v === "") continue;
    // a parameter of the path (`/api/kpis/{section}`) fills its hole, the others the query
    if (path.includes(`{${p}}`)) path = path.replace(`{${p}}`, encodeURIComponent(String(v)));
    else q.set(p, String(v));
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

// The JSON answer at `u`: fetched, or in a report read from its embedded answers.
export async function fetchJson(u) {
  if (report) {
    const v = report.answers[u];
    if (v === null || v === undefined) throw Object.assign(new Error("not in this report"), { status: 404 });
    return v;
  }
  const r = await fetch(u);
  const body = await r.json().catch(() => ({ error: `HTTP ${r.status}` }));
  if (!r.ok) throw Object.assign(new Error(body.error || `HTTP ${r.status}`), { status: r.status });
  return body;
}

// The answer of analysis `name` for `params` (a rejected promise for an unknown analysis too).
export const get = async (name, params) => fetchJson(url(name, params));
