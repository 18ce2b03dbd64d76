// The Map view: revenue by the customers' country on a world map (chartjs-chart-geo, world-atlas
// shapes), from /api/countries; a click on a country or its row drills down to it.

import * as api from "../api.js";
import { chart, clickable, colour } from "../charts.js";
import { money, count, cell } from "../format.js";
import { drill } from "../state.js";
import { NUMERIC, ALPHA2 } from "../iso3166.js";

export const name = "map";
export const title = "Map";
export const params = ["from", "to", "category", "country", "method", "channel", "product"];

const compact = new Intl.NumberFormat(undefined, { notation: "compact", maximumFractionDigits: 1 });
const ATLAS = "/assets/vendor/world-atlas/countries-110m.json";
let atlas = null;

export async function load(s) {
  // the analysis is new: a server (or report) without it shows a note, not an error
  const countries = await api.get("countries", s).catch((e) => {
    if (e.status === 404) return null;
    throw e;
  });
  if (countries && !atlas) atlas = await api.fetchJson(ATLAS);
  return { countries };
}

// The view's `<main>`: it exists only in this module.
export function init() {
  const main = document.createElement("main");
  main.id = "map-view";
  main.hidden = true;
  main.innerHTML = `
  <section class="panel wide">
    <div class="panel-head"><h2>Revenue by country</h2><span class="note" id="map-note"></span></div>
    <div class="chart map-chart"><canvas id="world"></canvas></div>
  </section>
  <section class="panel wide">
    <div class="table-wrap"><table id="country-table"><thead><tr><th>Country</th><th>Revenue</th><th>Orders</th><th>Customers</th></tr></thead><tbody></tbody></table></div>
  </section>`;
  document.getElementById("spinner").before(main);
}

export function render({ countries }) {
  const note = document.getElementById("map-note");
  const body = document.querySelector("#country-table tbody");
  if (!countries) {
    note.textContent = api.report ? "not in this report" : "not available";
    body.replaceChildren();
    document.getElementById("map-view").dataset.missing = "1";
    return;
  }
  delete document.getElementById("map-view").dataset.missing;
  const rows = countries.countries;
  const byNumeric = new Map(rows.filter((c) => NUMERIC[c.country]).map((c) => [NUMERIC[c.country], c]));
  // customers without a country have a row (null) but no shape
  const unmapped = rows.filter((c) => c.country && !NUMERIC[c.country]).map((c) => c.country);
  note.textContent = `${count.format(rows.length)} countries` + (unmapped.length ? `; not on the map: ${unmapped.join(", ")}` : "") +
    (api.report ? "" : ". Click a country to filter by it.");
  const features = ChartGeo.topojson.feature(atlas, atlas.objects.countries).features.filter((f) => f.properties.name !== "Antarctica");
  chart("world", {
    type: "choropleth",
    data: {
      labels: features.map((f) => f.properties.name),
      datasets: [{
        label: "Revenue",
        outline: features,
        data: features.map((f) => ({ feature: f, value: byNumeric.get(f.id)?.revenue ?? null })),
        borderColor: colour("line"),
      }],
    },
    options: {
      maintainAspectRatio: false,
      showOutline: true,
      plugins: { legend: { display: false },
        tooltip: { callbacks: { label: (c) => {
          const row = byNumeric.get(c.raw.feature.id);
          return row ? `${c.raw.feature.properties.name}: ${money.format(row.revenue)}, ${count.format(row.orders)} orders, ${count.format(row.customers)} customers` : `${c.raw.feature.properties.name}: no orders`;
        } } } },
      scales: {
        projection: { axis: "x", projection: "equalEarth" },
        color: { axis: "x", quantize: 6, missing: colour("bg"), interpolate: (v) => `rgba(59, 91, 219, ${(0.2 + 0.8 * v).toFixed(3)})`, legend: { position: "bottom-left", align: "right" }, ticks: { callback: (v) => compact.format(v) } },
      },
      ...clickable((i) => { const a = ALPHA2[features[i].id]; if (a && byNumeric.has(features[i].id)) drill("country", a); }),
    },
  });
  body.replaceChildren(...rows.map((c) => {
    const tr = document.createElement("tr");
    tr.append(cell(c.country ?? "(none)"), cell(money.format(c.revenue)), cell(count.format(c.orders)), cell(count.format(c.customers)));
    if (!api.report && c.country) {
      tr.className = "drill";
      tr.title = `Filter by ${c.country}`;
      tr.addEventListener("click", () => drill("country", c.country));
    }
    return tr;
  }));
}
