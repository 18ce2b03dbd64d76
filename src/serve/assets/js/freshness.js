// Freshness: when the warehouse was last imported, and what of the schedule is failing (a
// source whose import failed, a delivery being retried), from `/api/status`. Shown above the
// views, refreshed every minute; a report has no schedule and shows nothing.

import { report, fetchJson } from "./api.js";

const local = (t) => new Date(t).toLocaleString();

function show(status) {
  const el = document.getElementById("freshness");
  const parts = [];
  const warn = [];
  if (status.last_import) parts.push(`Last import ${local(status.last_import.at)} (${status.last_import.source})`);
  const s = status.schedule;
  if (s) {
    for (const src of s.sources) {
      if (src.error) warn.push(`Source “${src.name}” failing since ${local(src.error[0])}: ${src.error[1]}`);
    }
    for (const d of s.notify.failing) {
      warn.push(`Delivery ${d.id} failed ${d.failures}× (${d.error}); next try ${local(d.next_attempt)}`);
    }
    if (s.notify.last_sent) parts.push(`last message sent ${local(s.notify.last_sent[1])}`);
  }
  el.replaceChildren();
  if (parts.length) el.append(document.createTextNode(parts.join(" · ")));
  for (const w of warn) {
    const p = document.createElement("strong");
    p.className = "failing";
    p.textContent = w;
    el.append(p);
  }
  el.hidden = !parts.length && !warn.length;
}

export async function watchFreshness() {
  if (report) return;
  const poll = async () => {
    try {
      show(await fetchJson("/api/status"));
    } catch {
      // the status is a courtesy: the views report their own errors
    }
  };
  await poll();
  setInterval(poll, 60_000);
}
