// The shoplens dashboard: reads the selection from the URL, loads the chosen view's answers from
// the API (or a report's embedded answers), and draws them. Views are in views/index.js.

import * as api from "./api.js";
import { context, read, write, navigate, listen, presetRange, FILTERS, DRILLS } from "./state.js";
import { preference, setTheme, initTheme } from "./theme.js";
import { watchFreshness } from "./freshness.js";
import { VIEWS } from "./views/index.js";

let generation = 0;
// the view drawn and its answers: a theme change redraws them
let drawn = null;

const viewOf = (name) => VIEWS.find((v) => v.name === name) || VIEWS[0];

function showError(message) {
  const e = document.getElementById("error");
  e.textContent = message ? `Could not load the data: ${message}` : "";
  e.hidden = !message;
}

function fillSelect(id, values, chosen) {
  const el = document.getElementById(id);
  el.length = 1;
  for (const v of values) el.add(new Option(v, v));
  el.value = chosen;
}

function stateToForm(s) {
  for (const k of FILTERS) document.getElementById(k).value = s[k];
  document.getElementById("preset").value = s.preset;
}

function showView(view) {
  for (const v of VIEWS) document.getElementById(`${v.name}-view`).hidden = v !== view;
  for (const a of document.querySelectorAll("#views a")) a.classList.toggle("active", a.dataset.view === view.name);
  // a view's filters only: the others would change nothing
  for (const k of FILTERS) document.getElementById(k).closest("label").hidden = !view.params.includes(k);
}

// One chip per drill filter set: its "×" removes it (as Back does after a click).
function showChips(s) {
  const chips = document.getElementById("chips");
  chips.replaceChildren(...Object.entries(DRILLS).filter(([k]) => s[k]).map(([k, label]) => {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "chip";
    b.dataset.filter = k;
    b.textContent = `${label}: ${s[k]} `;
    const x = document.createElement("span");
    x.textContent = "×";
    x.setAttribute("aria-label", `remove the ${label.toLowerCase()} filter`);
    b.append(x);
    b.disabled = Boolean(api.report);
    b.addEventListener("click", () => navigate({ ...read(), [k]: "" }, true));
    return b;
  }));
  chips.hidden = chips.childElementCount === 0;
}

async function load() {
  const mine = ++generation;
  const s = read();
  const view = viewOf(s.view);
  stateToForm(s);
  showView(view);
  showChips(s);
  document.body.classList.add("loading");
  try {
    const data = await view.load(s);
    if (mine !== generation) return;
    drawn = { view, data };
    view.render(data);
    showError("");
    document.body.dataset.ready = String(mine);
  } catch (e) {
    if (mine === generation) showError(e.message);
  } finally {
    if (mine === generation) document.body.classList.remove("loading");
  }
}

function redraw() {
  if (drawn) drawn.view.render(drawn.data);
}

function onFilterChange(event) {
  const s = read();
  for (const k of FILTERS) s[k] = document.getElementById(k).value;
  s.preset = document.getElementById("preset").value;
  if (event.target.id === "preset") {
    if (s.preset !== "custom") [s.from, s.to] = presetRange(s.preset);
  } else if (event.target.id === "from" || event.target.id === "to") {
    s.preset = "custom";
  }
  navigate(s);
}

async function start() {
  initTheme(redraw);
  const theme = document.getElementById("theme");
  theme.value = preference();
  theme.addEventListener("change", () => setTheme(theme.value, redraw));
  const nav = document.getElementById("views");
  nav.replaceChildren(...VIEWS.map((v) => {
    const a = document.createElement("a");
    a.href = v === VIEWS[0] ? "?" : `?view=${v.name}`;
    a.dataset.view = v.name;
    a.textContent = v.title;
    a.addEventListener("click", (e) => {
      e.preventDefault();
      navigate({ ...read(), view: v.name }, true);
    });
    return a;
  }));
  for (const v of VIEWS) v.init();
  watchFreshness();
  try {
    [context.dims, context.presets] = await Promise.all([
      api.get("dimensions"),
      api.get("presets").then((p) => p.presets),
    ]);
  } catch (e) {
    showError(e.message);
    document.body.classList.remove("loading");
    return;
  }
  const dims = context.dims;
  const s = read();
  fillSelect("category", dims.categories, s.category);
  fillSelect("country", dims.countries, s.country);
  fillSelect("method", dims.methods, s.method);
  fillSelect("channel", dims.channels, s.channel);
  for (const id of ["from", "to"]) {
    document.getElementById(id).min = dims.first_date || "";
    document.getElementById(id).max = dims.last_date || "";
  }
  // the menu's words are the server's, as are the ranges
  for (const p of context.presets) {
    const option = document.querySelector(`#preset option[value="${p.name}"]`);
    if (option) [option.hidden, option.textContent] = [false, p.label];
  }
  // a preset in the URL is resolved against the data's last day
  if (s.preset !== "all" && s.preset !== "custom" && !s.from && !s.to) {
    [s.from, s.to] = presetRange(s.preset);
    write(s);
  }
  // a report's figures are fixed: its filters only show the selection
  if (api.report) for (const el of document.querySelectorAll("#filters select, #filters input")) el.disabled = true;
  document.getElementById("filters").addEventListener("change", onFilterChange);
  listen(load);
  window.addEventListener("popstate", load);
  // a view's own control (the products' level) asks for its answers again
  document.addEventListener("shoplens:reload", load);
  load();
}

start();
