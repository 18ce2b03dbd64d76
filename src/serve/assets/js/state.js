// The selection: filters, range preset, view and overlay, held in the page's URL (a report holds
// it in memory: its URL is a file and its figures are fixed). Changing it goes through
// `navigate`, which writes the URL and asks the page to load.

import { report } from "./api.js";

export const FILTERS = ["from", "to", "category", "country", "method", "channel", "product"];
// the filters a click on a chart or a table sets, with their names on the chips that undo them
export const DRILLS = { category: "Category", country: "Country", method: "Payment", channel: "Channel", product: "Product" };

// `/api/dimensions`, once loaded: the presets and the default range are relative to it
export const context = { dims: null, presets: [] };

let memory = null;
let onNavigate = () => {};

// The selection now.
export function read() {
  if (report) {
    memory ||= { ...report.filter, preset: report.filter.from || report.filter.to ? "custom" : "all", view: "overview", py: "" };
    return { ...memory };
  }
  const u = new URLSearchParams(location.search);
  const s = {};
  for (const k of FILTERS) s[k] = u.get(k) || "";
  // a first visit opens on the default range, which has a period before it to compare with
  const dims = context.dims;
  const opening = dims && dims.default_range && !s.from && !s.to ? "default" : "all";
  s.preset = u.get("preset") || (s.from || s.to ? "custom" : opening);
  s.view = u.get("view") || "overview";
  s.py = u.get("py") === "1" ? "1" : "";
  return s;
}

// Writes `s` into the URL: a new history entry when `push` (Back undoes it), else in place.
export function write(s, push = false) {
  if (report) { memory = { ...s }; return; }
  const q = new URLSearchParams();
  for (const k of FILTERS) if (s[k]) q.set(k, s[k]);
  // "all" is written too: without a preset, a visit opens on the default range
  if (s.preset && s.preset !== "custom") q.set("preset", s.preset);
  if (s.view && s.view !== "overview") q.set("view", s.view);
  if (s.py) q.set("py", "1");
  const url = q.toString() ? `?${q}` : location.pathname;
  if (url === location.search || (url === location.pathname && !location.search)) return;
  if (push) history.pushState(null, "", url);
  else history.replaceState(null, "", url);
}

export function listen(load) { onNavigate = load; }

// Moves to selection `s` and loads it.
export function navigate(s, push = false) {
  write(s, push);
  onNavigate();
}

// Filters the whole dashboard by `key` = `value` (a click on a category, a country, a method),
// undoable with Back or the filter's chip. A report's figures are fixed: it does not drill.
export function drill(key, value) {
  if (report || !value) return;
  const s = read();
  if (s[key] === value) return;
  navigate({ ...s, [key]: value }, true);
}

// Presets are relative to the last order day of the data, not to today: an export is a snapshot.
export function presetRange(preset) {
  // the server resolves the presets (`/api/presets`), so its warm-up computes what they ask for
  const p = context.presets.find((x) => x.name === preset);
  return p ? [p.from || "", p.to || ""] : ["", ""];
}

// What the selection is compared with: the default range's own comparison, else the period
// just before.
export function versus(s) {
  if (report) return report.vs || "previous_period";
  const p = context.presets.find((x) => x.name === s.preset);
  return p ? p.vs : "previous_period";
}

// A day (YYYY-MM-DD) or a month (YYYY-MM) `years` years away; 29 February becomes the 28th.
export function shiftYears(day, years) {
  if (!day) return "";
  const y = String(Number(day.slice(0, 4)) + years).padStart(4, "0");
  const rest = day.slice(4);
  return rest === "-02-29" ? `${y}-02-28` : y + rest;
}
