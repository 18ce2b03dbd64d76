// Light, dark or the system's choice (prefers-color-scheme), remembered in localStorage; the
// stylesheet holds the colours, the charts take theirs from it.

import { themeCharts } from "./charts.js";

const KEY = "shoplens-theme";
const system = window.matchMedia("(prefers-color-scheme: dark)");

export function preference() {
  try { return localStorage.getItem(KEY) || "system"; } catch { return "system"; }
}

// Applies `choice` (system, light or dark) and remembers it; `redraw` runs when colours changed.
export function setTheme(choice, redraw) {
  try { localStorage.setItem(KEY, choice); } catch { /* a page without storage forgets it */ }
  apply(choice);
  redraw();
}

function apply(choice) {
  if (choice === "light" || choice === "dark") document.documentElement.dataset.theme = choice;
  else delete document.documentElement.dataset.theme;
  themeCharts();
}

// Applies the remembered choice, and follows the system's while that is the choice.
export function initTheme(redraw) {
  apply(preference());
  system.addEventListener("change", () => { if (preference() === "system") { apply("system"); redraw(); } });
}
