// The Products view: performance per product, variant or category with sparklines, the products
// rising and falling beyond chance, items bought together and the product journey; every figure
// from /api/products*. A click on a product lists its variants; on a category, drills into it.

import * as api from "../api.js";
import { money, count, pct, cell, saveCsv } from "../format.js";
import { drill, navigate, read, versus } from "../state.js";

export const name = "products";
export const title = "Products";
export const params = ["from", "to", "category", "country", "method", "channel", "product"];

let level = "product";
let sortKey = "net_sales";
let sortDown = true;
let shown = null;
let open = null; // the product whose variants are listed

export async function load(s) {
  const vs = versus(s);
  const [performance, variants, pairs, journey] = await Promise.all([
    api.get("products", { ...s, vs, level }),
    level === "product" ? api.get("products", { ...s, vs, level: "variant" }) : null,
    api.get("pairs", { ...s, level, top: "20" }),
    api.get("journey", { ...s, level, top: "10" }),
  ]);
  return { performance, variants, pairs, journey };
}

// The view's `<main>`: it exists only in this module.
export function init() {
  const main = document.createElement("main");
  main.id = "products-view";
  main.hidden = true;
  main.innerHTML = `
  <section class="panel wide">
    <div class="panel-head"><h2>Product performance</h2>
      <label>By <select id="products-level">
        <option value="product">Product</option><option value="variant">Variant</option><option value="category">Category</option>
      </select></label>
      <button id="products-csv">CSV</button></div>
    <p class="note" id="products-note"></p>
    <div class="table-wrap"><table id="products-table" class="sortable"><thead><tr>
      <th data-key="name">Item</th><th data-key="net_sales">Net sales</th><th data-key="monthly">Trend</th>
      <th data-key="units">Units</th><th data-key="orders">Orders</th><th data-key="average_price">Avg price</th>
      <th data-key="share">Share</th><th data-key="returned_units">Returned</th><th data-key="return_rate">Return rate</th><th data-key="value_return_rate">Value returned</th>
      <th data-key="first_time_share">First-time</th><th data-key="change">Change</th>
    </tr></thead><tbody></tbody></table></div>
    <div id="variants-panel" hidden><h3 id="variants-title"></h3>
      <button id="product-drill">The dashboard for this product</button>
      <div class="table-wrap"><table id="variants-table"><thead><tr><th>Variant</th><th>Net sales</th><th>Units</th><th>Returned</th><th>Return rate</th></tr></thead><tbody></tbody></table></div></div>
  </section>
  <section class="cards cards-2">
    <div class="panel"><h2>Rising</h2><p class="note">More orders than the comparison period beyond chance (exact binomial test, 5 % false discovery rate).</p><ol id="rising"></ol></div>
    <div class="panel"><h2>Falling</h2><p class="note">Fewer orders beyond chance.</p><ol id="falling"></ol></div>
  </section>
  <section class="panel wide">
    <div class="panel-head"><h2>Bought together</h2><span class="note" id="pairs-note"></span></div>
    <div class="table-wrap"><table id="pairs-table"><thead><tr><th>Bought</th><th>Also bought</th><th>Orders</th><th>Support</th><th>Confidence</th><th>Lift</th><th>Conviction</th></tr></thead><tbody></tbody></table></div>
  </section>
  <section class="panel wide">
    <div class="panel-head"><h2>Product journey</h2></div>
    <p class="note">Customers by what their first purchase held (the range chooses them by that day): did they come back, what did they buy next, what did a year bring.</p>
    <div class="table-wrap"><table id="journey-table"><thead><tr><th>First purchase</th><th>Customers</th><th>Repeat rate</th><th>Year's net sales per customer</th><th>Bought next</th></tr></thead><tbody></tbody></table></div>
  </section>`;
  document.getElementById("spinner").before(main);
  const select = document.getElementById("products-level");
  // a report holds the product level only
  select.disabled = Boolean(api.report);
  select.addEventListener("change", () => {
    level = select.value;
    open = null;
    document.dispatchEvent(new CustomEvent("shoplens:reload"));
  });
  for (const th of main.querySelectorAll("#products-table th[data-key]")) {
    th.addEventListener("click", () => {
      const key = th.dataset.key;
      if (key === "monthly") return;
      sortDown = key === sortKey ? !sortDown : key !== "name";
      sortKey = key;
      renderTable();
    });
  }
  // the whole dashboard filtered to the product (a chip undoes it); a report's figures are fixed
  const toProduct = document.getElementById("product-drill");
  toProduct.hidden = Boolean(api.report);
  toProduct.addEventListener("click", () => { if (open) navigate({ ...read(), product: open, view: "overview" }, true); });
  document.getElementById("products-csv").addEventListener("click", () => {
    if (!shown) return;
    saveCsv(shown.performance.items.map(({ monthly, trend, ...r }) => ({ ...r, trend: trend ? trend.direction : "", q_value: trend ? trend.q_value : "" })), `products-${level}.csv`);
  });
}

export function render(d) {
  shown = d;
  const p = d.performance;
  document.getElementById("products-level").value = level;
  const vs = p.comparison ? `against ${p.comparison.from} – ${p.comparison.to}` : (p.no_comparison ? `no comparison: ${p.no_comparison}` : "no comparison");
  document.getElementById("products-note").textContent =
    `${count.format(p.items.length)} ${p.level === "category" ? "categories" : p.level + "s"}, net sales ${money.format(p.net_sales)} (${vs}). Click a header to sort${p.level === "product" ? ", a product for its variants" : ""}.` +
    (p.first_time_left_out ? " First-time shares left out: the server's memory limit cannot hold every customer's first day at this size." : "");
  renderTable();
  renderTrends(p);
  renderPairs(d.pairs);
  renderJourney(d.journey);
}

function value(r, key) {
  const v = r[key];
  return v === null || v === undefined ? -Infinity : v;
}

function renderTable() {
  const p = shown.performance;
  const rows = [...p.items].sort((a, b) => {
    const x = value(a, sortKey), y = value(b, sortKey);
    const c = typeof x === "string" ? x.localeCompare(y) : x - y;
    return sortDown ? -c : c;
  });
  const body = document.querySelector("#products-table tbody");
  body.replaceChildren(...rows.slice(0, 200).map((r) => {
    const tr = document.createElement("tr");
    const change = r.change === null ? "–" : `${r.change >= 0 ? "+" : ""}${pct(r.change)}`;
    const mark = r.trend && r.trend.direction !== "steady" ? (r.trend.direction === "rising" ? " ▲" : " ▼") : "";
    const nameCell = cell(r.name, p.level === "category" || r.item === r.name ? "" : r.item);
    tr.append(nameCell, cell(money.format(r.net_sales)), spark(r.monthly), cell(count.format(r.units)), cell(count.format(r.orders)),
      cell(r.average_price === null ? "–" : money.format(r.average_price)), cell(r.share === null ? "–" : pct(r.share)),
      cell(count.format(r.returned_units)), cell(r.return_rate === null ? "–" : pct(r.return_rate)),
      cell(r.value_return_rate === null ? "–" : pct(r.value_return_rate)),
      cell(r.first_time_share === null ? "–" : pct(r.first_time_share)), cell(change + mark));
    tr.className = p.level === "variant" ? "" : "drill";
    tr.addEventListener("click", () => {
      if (p.level === "category") drill("category", r.item);
      else if (p.level === "product") { open = r.item; renderVariants(); }
    });
    return tr;
  }));
  renderVariants();
}

function renderVariants() {
  const panel = document.getElementById("variants-panel");
  const vars = shown.variants && open ? shown.variants.items.filter((v) => v.product === open) : [];
  panel.hidden = !vars.length;
  if (!vars.length) return;
  const product = shown.performance.items.find((r) => r.item === open);
  document.getElementById("variants-title").textContent = `${product ? product.name : open}: ${vars.length} variant${vars.length === 1 ? "" : "s"}`;
  document.querySelector("#variants-table tbody").replaceChildren(...vars.map((v) => {
    const tr = document.createElement("tr");
    tr.append(cell(v.name, v.item), cell(money.format(v.net_sales)), cell(count.format(v.units)), cell(count.format(v.returned_units)),
      cell(v.return_rate === null ? "–" : pct(v.return_rate)));
    return tr;
  }));
}

// A sparkline of monthly net sales: an SVG polyline, drawn with the DOM (no inline script or style).
function spark(values) {
  const td = document.createElement("td");
  if (!values || values.length < 2) return td;
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  const w = 80, h = 20;
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  svg.setAttribute("width", w);
  svg.setAttribute("height", h);
  svg.setAttribute("class", "spark");
  const lo = Math.min(0, ...values), hi = Math.max(...values, lo + 1);
  const pts = values.map((v, i) => `${(i * w / (values.length - 1)).toFixed(1)},${(h - 1 - (v - lo) * (h - 2) / (hi - lo)).toFixed(1)}`);
  const line = document.createElementNS(ns, "polyline");
  line.setAttribute("points", pts.join(" "));
  line.setAttribute("fill", "none");
  line.setAttribute("stroke", "currentColor");
  svg.append(line);
  const title = document.createElementNS(ns, "title");
  title.textContent = values.map((v) => money.format(v)).join(" · ");
  svg.append(title);
  td.append(svg);
  return td;
}

function renderTrends(p) {
  for (const dir of ["rising", "falling"]) {
    const byItem = new Map(p.items.map((r) => [r.item, r]));
    const items = p[dir].slice(0, 10).map((key) => byItem.get(key));
    const list = document.getElementById(dir);
    list.replaceChildren(...(items.length ? items.map((r) => {
      const li = document.createElement("li");
      li.textContent = `${r.name}: ${count.format(r.trend.orders)} orders against ${r.trend.expected_orders.toFixed(1)} expected (q = ${r.trend.q_value.toPrecision(2)})`;
      return li;
    }) : [Object.assign(document.createElement("li"), { textContent: p.comparison ? "none beyond chance" : "no comparison period" })]));
  }
}

function renderPairs(p) {
  document.getElementById("pairs-note").textContent =
    `${count.format(p.pairs)} pairs in at least ${count.format(p.min_orders)} of ${count.format(p.orders)} orders; by lift`;
  document.querySelector("#pairs-table tbody").replaceChildren(...p.rules.map((r) => {
    const tr = document.createElement("tr");
    tr.append(cell(r.antecedent_name), cell(r.consequent_name), cell(count.format(r.orders)), cell(pct(r.support)),
      cell(pct(r.confidence)), cell(r.lift.toFixed(2)), cell(r.conviction === null ? "∞" : r.conviction.toFixed(2)));
    return tr;
  }));
}

function renderJourney(j) {
  document.querySelector("#journey-table tbody").replaceChildren(...[j.all, ...j.items].map((r) => {
    const tr = document.createElement("tr");
    const next = r.next.slice(0, 3).map((n) => `${n.name} (${pct(n.share)})`).join(", ");
    tr.append(cell(r.name), cell(count.format(r.customers)), cell(pct(r.repeat_rate)),
      cell(r.year_net_sales_per_customer === null ? "–" : money.format(r.year_net_sales_per_customer), `${count.format(r.full_year_customers)} with a full year`),
      cell(next || "–"));
    return tr;
  }));
}
