// Chart.js helpers: one chart per canvas id, colours from the page's CSS variables (light or dark).

import { report } from "./api.js";

const charts = {};
// still charts: figures appear at once and screenshots never catch a half-drawn chart
Chart.defaults.animation = false;

// The value of CSS variable `--name` as the page is now themed.
export const colour = (name) => getComputedStyle(document.documentElement).getPropertyValue(`--${name}`).trim();

// Chart.js defaults (text, grid lines) from the theme; charts drawn afterwards take them.
export function themeCharts() {
  Chart.defaults.color = colour("muted");
  Chart.defaults.borderColor = colour("line");
  Chart.defaults.scale.grid.color = colour("line");
  Chart.defaults.plugins.legend.labels.color = colour("ink");
  Chart.defaults.plugins.title.color = colour("ink");
}

// Draws `config` on canvas `id`, replacing the chart drawn there before.
export function chart(id, config) {
  if (charts[id]) charts[id].destroy();
  charts[id] = new Chart(document.getElementById(id), config);
  return charts[id];
}

// Drill-down on click: `pick(index)` of the clicked element, with a pointer over clickable ones
// (not in a report: its figures are fixed).
export function clickable(pick) {
  if (report) return {};
  return {
    onClick: (_e, elements) => { if (elements.length) pick(elements[0].index); },
    onHover: (e, elements) => { e.native.target.style.cursor = elements.length ? "pointer" : ""; },
  };
}
