// The Overview: cards with their changes, the monthly trend with its forecast and the previous
// year, the revenue bridge, charts and top lists. Every figure from /api/kpis and its neighbours.

import * as api from "../api.js";
import { chart, clickable, colour } from "../charts.js";
import { money, money0, count, pct, moneyTick, changeText, versusWords, cell, saveCsv } from "../format.js";
import { read, navigate, drill, versus, shiftYears } from "../state.js";

export const name = "overview";
export const title = "Overview";
export const params = ["from", "to", "category", "country", "method", "channel", "product"];

// what is drawn: the CSV buttons and the bridge read it
let shown = null;
let explanation = null;
let bridges = 0;

// The monthly revenue a year before the selection: its range shifted back by a year, with the
// same filters (without a range, the page shifts the selection's own series).
function previousYear(s) {
  if (!s.py || (!s.from && !s.to)) return null;
  return api.get("section", { section: "monthly", ...s, from: shiftYears(s.from, -1), to: shiftYears(s.to, -1) });
}

export async function load(s) {
  const vs = versus(s);
  const [kpis, compare, compareYear, forecast, projection, alerts, lastYear] = await Promise.all([
    api.get("kpis", s),
    api.get("compare", { ...s, vs }).catch(() => null),
    // beside the comparison shown, the change against the same days a year before
    vs === "previous_year" ? null : api.get("compare", { ...s, vs: "previous_year" }).catch(() => null),
    api.get("forecast", { ...s, horizon: 2 }).catch(() => null),
    // the projection is of the current month: the selection's category, country and method only
    api.get("projection", s).catch(() => null),
    api.get("alerts").catch(() => null),
    previousYear(s)?.catch(() => null) ?? null,
  ]);
  return { s, vs, kpis, compare, compareYear, forecast, projection, alerts, lastYear };
}

export function render(d) {
  shown = d;
  renderCards(d);
  renderProjection(d.projection);
  renderAlerts(d.alerts);
  const panel = document.getElementById("explain-panel");
  if (api.report || !panel.hidden) openExplain();
  renderTrend(d);
  renderBooks(d);
  renderChannels(d.kpis);
  renderCodes(d.kpis);
  renderCategories(d.kpis);
  renderMethods(d.kpis);
  renderFrequency(d.kpis);
  renderTables(d.kpis);
}

// Wires the view's controls once.
export function init() {
  for (const b of document.querySelectorAll("[data-csv]")) {
    b.addEventListener("click", () => {
      if (!shown) return;
      const section = b.dataset.csv;
      const rows = section === "order_frequency" ? shown.kpis.order_frequency.buckets
        : section === "books" ? booksRows(shown.kpis.books) : shown.kpis[section];
      saveCsv(rows, `${section}.csv`);
    });
  }
  // the revenue card's change opens the bridge that explains it
  document.querySelector('.card[data-kpi="total_revenue"] .change').addEventListener("click", openExplain);
  document.getElementById("explain-view").addEventListener("change", () => { if (explanation) renderExplain(explanation); });
  document.getElementById("explain-close").addEventListener("click", () => { document.getElementById("explain-panel").hidden = true; });
  document.getElementById("prev-year").addEventListener("change", (e) => navigate({ ...read(), py: e.target.checked ? "1" : "" }));
  document.getElementById("books-series").addEventListener("change", () => { if (shown) renderBooks(shown); });
}

// The books as a shop platform's finance summary, top to bottom: gross sales, what comes off it,
// net sales, what is added to it, total sales. Shipping, taxes and duties are an order's, not a
// category's: none under a category filter.
const BOOK_LINES = [
  ["gross_sales", "Gross sales", 1],
  ["discounts", "Discounts", -1],
  ["returns", "Returns", -1],
  ["net_sales", "Net sales", 1, "total"],
  ["shipping", "Shipping", 1],
  ["taxes", "Taxes", 1],
  ["duties", "Duties", 1],
  ["total_sales", "Total sales", 1, "total"],
];

function booksRows(b) {
  return BOOK_LINES.map(([key, label, sign]) => ({ line: label, amount: b[key] === null ? null : sign * b[key] }));
}

function renderBooks({ kpis: k, compare: cmp, vs }) {
  const b = k.books;
  const before = cmp && cmp.comparison.summary.orders > 0 ? cmp.comparison.books : null;
  document.getElementById("books-vs").textContent = before ? versusWords(vs) : "Compared";
  const body = document.querySelector("#books-table tbody");
  body.replaceChildren(...BOOK_LINES.map(([key, label, sign, total]) => {
    const tr = document.createElement("tr");
    if (total) tr.className = "total";
    const amount = (x) => (x === null || x === undefined ? "–" : money.format(sign * x));
    const now = b[key];
    const then = before ? before[key] : null;
    const change = now !== null && then !== null && then !== undefined && then !== 0 ? now / then - 1 : null;
    tr.append(cell(label), cell(amount(now)), cell(before ? amount(then) : "–"), cell(change === null ? "–" : pct(change)));
    for (const td of [...tr.children].slice(1)) td.className = "num";
    return tr;
  }));
  const notes = [];
  if (b.returned_units) notes.push(`${count.format(b.returned_units)} units returned`);
  if (b.shipping === null) notes.push("shipping, taxes and duties are an order's, not a category's: not shown for a category");
  for (const a of k.assumptions || []) notes.push(a);
  document.getElementById("books-note").textContent = notes.join("; ");
  const series = document.getElementById("books-series").value;
  const pick = { net: ["Net sales", (m) => m.revenue, colour("accent")], gross: ["Gross sales", (m) => m.gross_sales, "#2b8a3e"], returns: ["Returns", (m) => m.returns, "#e03131"] }[series];
  chart("books-chart", {
    type: "bar",
    data: { labels: k.monthly.map((m) => m.month), datasets: [{ label: pick[0], data: k.monthly.map(pick[1]), backgroundColor: pick[2] }] },
    options: { maintainAspectRatio: false, plugins: { legend: { display: false },
      tooltip: { callbacks: { label: (c) => `${pick[0]}: ${money.format(c.raw)}` } } },
      scales: { y: { ticks: moneyTick } } },
  });
}

// Net sales per channel; a row drills down to its channel.
function renderChannels(k) {
  const body = document.querySelector("#channels-table tbody");
  body.replaceChildren(...k.channels.map((c) => {
    const tr = document.createElement("tr");
    tr.append(cell(c.channel), cell(money.format(c.revenue)), cell(count.format(c.orders)), cell(pct(c.share)));
    for (const td of [...tr.children].slice(1)) td.className = "num";
    if (!api.report) {
      tr.className = "drill";
      tr.title = `Filter by ${c.channel}`;
      tr.addEventListener("click", () => drill("channel", c.channel));
    }
    return tr;
  }));
}

// The discount codes of the selection's orders: the twenty most used (every one in the CSV).
function renderCodes(k) {
  const body = document.querySelector("#codes-table tbody");
  document.getElementById("codes-empty").hidden = k.discount_codes.length > 0;
  body.replaceChildren(...k.discount_codes.slice(0, 20).map((c) => {
    const tr = document.createElement("tr");
    tr.append(cell(c.code), cell(count.format(c.orders)), cell(money.format(c.discounts)), cell(money.format(c.revenue)));
    for (const td of [...tr.children].slice(1)) td.className = "num";
    return tr;
  }));
}

function comparable() {
  return Boolean(shown && shown.compare && shown.compare.comparison.summary.orders > 0);
}

function setChange(el, change, points, against) {
  el.classList.remove("up", "down");
  if (change === null || change === undefined) { el.textContent = "no earlier data to compare"; return; }
  el.textContent = changeText(change, points, against);
  el.classList.add(change >= 0 ? "up" : "down");
}

function renderCards({ kpis: k, compare: cmp, compareYear: year, vs }) {
  const s = k.summary;
  const values = {
    total_revenue: money.format(s.total_revenue),
    orders: count.format(s.orders),
    average_order_value: money.format(s.average_order_value),
    customers: count.format(s.customers),
    repeat_customer_rate: pct(k.order_frequency.repeat_customer_rate),
  };
  for (const card of document.querySelectorAll("#cards .card[data-kpi]")) {
    const key = card.dataset.kpi;
    const points = key === "repeat_customer_rate";
    card.querySelector(".value").textContent = values[key];
    card.querySelector(".value").dataset.raw = points ? k.order_frequency.repeat_customer_rate : s[key];
    setChange(card.querySelector(".change"), cmp ? cmp.change[key] : null, points, versusWords(vs));
    const py = card.querySelector(".change-py");
    // hidden when the comparison shown is already the year before (by name or by its days)
    py.hidden = vs === "previous_year" || Boolean(cmp && year && cmp.comparison.from === year.comparison.from && cmp.comparison.to === year.comparison.to);
    setChange(py, year && year.comparison.summary.orders > 0 ? year.change[key] : null, points, versusWords("previous_year"));
    if (!year || !(year.comparison.summary.orders > 0)) py.textContent = "no orders a year before";
  }
  const revenueChange = document.querySelector('.card[data-kpi="total_revenue"] .change');
  revenueChange.classList.toggle("clickable", comparable());
  revenueChange.title = comparable() ? "Why? Open the revenue bridge" : "";
}

// The monthly trend: revenue and orders, the month in progress drawn hollow with its projection,
// the forecast for the first month after it, and (when ticked) the same months a year before.
function renderTrend({ s, kpis: k, forecast: fc, projection: proj, lastYear }) {
  const accent = colour("accent");
  const labels = k.monthly.map((m) => m.month);
  const revenue = k.monthly.map((m) => m.revenue);
  const last = k.monthly[k.monthly.length - 1];
  const progress = last && !last.complete ? k.monthly.length - 1 : -1;
  const projected = progress >= 0 && proj && proj.month === last.month ? proj.projection : null;
  const datasets = [
    { label: "Revenue", data: revenue, borderColor: accent, backgroundColor: accent, yAxisID: "y", tension: 0.2,
      pointBackgroundColor: labels.map((_, i) => (i === progress ? colour("panel") : accent)),
      segment: { borderDash: (c) => (c.p1DataIndex === progress ? [3, 3] : undefined) } },
    { label: "Orders", data: k.monthly.map((m) => m.orders), borderColor: "#f08c00", backgroundColor: "#f08c00", yAxisID: "y1", borderDash: [4, 3], pointRadius: 0, tension: 0.2 },
  ];
  if (projected !== null) {
    datasets.push({ label: `Projection (${last.month} in progress)`, data: labels.map((_, i) => (i === progress ? projected : null)),
      borderColor: "#0ca678", backgroundColor: "#0ca678", pointStyle: "rectRot", pointRadius: 6, showLine: false, yAxisID: "y" });
  }
  // the forecast is for the month after the last complete one; when that month is in progress
  // the projection speaks for it, and the forecast shown is the next one
  let f = fc;
  let anchor = null;
  if (fc && progress >= 0 && fc.month === last.month) {
    const next = fc.path && fc.path[1];
    f = next ? { ...fc, ...next, series_end: last.month } : null;
    anchor = projected;
  }
  const note = document.getElementById("forecast-note");
  if (f) {
    const at = labels.indexOf(f.series_end);
    if (at >= 0 && !labels.includes(f.month)) labels.splice(at + 1, 0, f.month);
    const from = anchor !== null ? anchor : revenue[at];
    const place = (value) => labels.map((m) => (m === f.month ? value : m === f.series_end ? from : null));
    datasets.push(
      { label: "95 % interval", data: place(f.interval_95[1]), borderColor: "transparent", backgroundColor: "rgba(59,91,219,0.10)", fill: "+1", yAxisID: "y", pointRadius: 0, spanGaps: true },
      { label: "95 % low", data: place(f.interval_95[0]), borderColor: "transparent", yAxisID: "y", pointRadius: 0, spanGaps: true },
      { label: "80 % interval", data: place(f.interval_80[1]), borderColor: "transparent", backgroundColor: "rgba(59,91,219,0.22)", fill: "+1", yAxisID: "y", pointRadius: 0, spanGaps: true },
      { label: "80 % low", data: place(f.interval_80[0]), borderColor: "transparent", yAxisID: "y", pointRadius: 0, spanGaps: true },
      { label: "Forecast", data: place(f.forecast), borderColor: accent, backgroundColor: colour("panel"), borderDash: [6, 4], yAxisID: "y", pointRadius: 4, spanGaps: true },
    );
    const current = projected !== null ? ` ${last.month} is in progress: projected ${money.format(projected)}.` : "";
    note.textContent = `Forecast for ${f.month}: ${money.format(f.forecast)} (80 %: ${money0.format(f.interval_80[0])} – ${money0.format(f.interval_80[1])}; 95 %: ${money0.format(f.interval_95[0])} – ${money0.format(f.interval_95[1])}). Method ${fc.model}: ${fc.explanation}.${current}`;
  } else {
    note.textContent = "Forecast: not available for this selection (it needs at least 3 complete months).";
  }
  document.getElementById("prev-year").checked = Boolean(s.py);
  // each month beside the same month a year before: fetched for a range, else the series' own
  const earlier = s.from || s.to ? lastYear : k.monthly;
  if (s.py && earlier) {
    const before = new Map(earlier.map((m) => [m.month, m.revenue]));
    datasets.push({ label: "Previous year", data: labels.map((m) => before.get(shiftYears(m, -1)) ?? null),
      borderColor: colour("muted"), backgroundColor: colour("muted"), borderDash: [5, 5], pointRadius: 2, yAxisID: "y", tension: 0.2, spanGaps: false });
  }
  chart("trend", {
    type: "line",
    data: { labels, datasets },
    options: {
      maintainAspectRatio: false, interaction: { mode: "index", intersect: false },
      plugins: {
        legend: { labels: { filter: (item) => !item.text.endsWith(" low") } },
        tooltip: { callbacks: { label: (c) => c.raw === null ? null : `${c.dataset.label}: ${c.dataset.yAxisID === "y1" ? count.format(c.raw) : money.format(c.raw)}` } },
      },
      scales: { y: { ticks: moneyTick, title: { display: true, text: "Revenue" } }, y1: { position: "right", grid: { drawOnChartArea: false }, title: { display: true, text: "Orders" } } },
    },
  });
}

// The month-to-date projection card: where the current month will end.
function renderProjection(p) {
  const card = document.getElementById("projection-card");
  const change = card.querySelector(".change");
  if (!p) { card.querySelector(".value").textContent = "–"; change.textContent = "no month to project"; return; }
  card.querySelector(".value").textContent = money0.format(p.projection);
  card.querySelector(".value").dataset.raw = p.projection;
  const interval = p.interval_80 ? `; 80 %: ${money0.format(p.interval_80[0])} – ${money0.format(p.interval_80[1])}` : "";
  change.className = "change";
  change.textContent = p.days_elapsed === p.days_in_month
    ? `${p.month} is complete: its revenue`
    : `${p.month}: ${money0.format(p.so_far)} in ${p.days_elapsed} of ${p.days_in_month} days${interval}`;
}

// The alert list: segments whose last complete month left its forecast's 95 % interval.
function renderAlerts(a) {
  const list = document.getElementById("alerts");
  list.replaceChildren();
  const note = document.getElementById("alerts-note");
  if (!a) { note.textContent = "not available"; return; }
  note.textContent = a.month ? `${a.month}: ${a.checked} segments checked against their forecast's 95 % interval` : "no complete month yet";
  if (a.alerts.length === 0) {
    const li = document.createElement("li");
    li.textContent = "Nothing unusual: every segment's month was inside its expected range.";
    list.append(li);
  }
  for (const x of a.alerts) {
    const li = document.createElement("li");
    li.className = x.gap < 0 ? "down" : "up";
    li.textContent = `${x.kind === "shop" ? "The shop" : `${x.kind} ${x.segment}`}: ${money0.format(x.actual)} in ${x.month}, ${x.gap >= 0 ? "+" : ""}${pct(x.gap)} against ${money0.format(x.expected)} expected (95 %: ${money0.format(x.interval_95[0])} – ${money0.format(x.interval_95[1])})`;
    list.append(li);
  }
}

// The bars of one bridge view: [label, amount] from the start total to the end total.
function bridgeSteps(e, view) {
  const v = e.views;
  const of = (cs) => cs.map((c) => [c.driver, c.amount]);
  switch (view) {
    case "customers": return of(v.customers.components);
    case "categories": return v.categories.map((c) => [c.category, c.amount]);
    case "price_volume": return of(v.price_volume.components);
    case "countries": return of(v.countries);
    case "methods": return of(v.methods);
    case "gross_to_net": return e.gross_to_net.slice(1, -1).map((s) => [s.step, s.amount]);
    default: return [["orders", v.volume_value[0].amount], ["average order value", v.volume_value[1].amount]];
  }
}

// The waterfall: the first total, each driver as a floating bar, the last total.
function renderExplain(e) {
  const view = document.getElementById("explain-view").value;
  document.getElementById("explain-summary").textContent = e.summary;
  const gross = view === "gross_to_net";
  const first = gross ? ["gross", e.gross_to_net[0].amount] : [`${e.comparison.from} – ${e.comparison.to}`, e.comparison.revenue];
  const last = gross ? ["net revenue", e.gross_to_net[e.gross_to_net.length - 1].amount] : [`${e.range.from} – ${e.range.to}`, e.range.revenue];
  const steps = bridgeSteps(e, view);
  const labels = [first[0]], bars = [[0, first[1]]], colors = ["#868e96"];
  let level = first[1];
  for (const [label, amount] of steps) {
    labels.push(label);
    bars.push([level, level + amount]);
    colors.push(amount >= 0 ? "#2b8a3e" : "#e03131");
    level += amount;
  }
  labels.push(last[0]);
  bars.push([0, last[1]]);
  colors.push(colour("accent"));
  // a category, country or method bar drills down to it
  const drills = { categories: "category", countries: "country", methods: "method" };
  chart("waterfall", {
    type: "bar",
    data: { labels, datasets: [{ label: "Revenue", data: bars, backgroundColor: colors }] },
    options: {
      maintainAspectRatio: false, plugins: { legend: { display: false },
        tooltip: { callbacks: { label: (c) => { const [a, b] = c.raw; const i = c.dataIndex; return i === 0 || i === labels.length - 1 ? money.format(b) : `${b - a >= 0 ? "+" : ""}${money.format(b - a)}`; } } } },
      scales: { y: { ticks: moneyTick } },
      ...(drills[view] ? clickable((i) => { if (i > 0 && i < labels.length - 1) drill(drills[view], labels[i]); }) : {}),
    },
  });
}

// Opens the bridge panel for the current selection (from the revenue card's change).
async function openExplain() {
  const panel = document.getElementById("explain-panel");
  // a bridge against a period without orders would explain nothing
  if (!comparable()) { panel.hidden = true; return; }
  panel.hidden = false;
  const mine = shown;
  try {
    const e = await api.get("explain", { ...mine.s, vs: mine.vs });
    if (mine !== shown) return;
    explanation = e;
    renderExplain(e);
    panel.dataset.ready = String(++bridges);
  } catch (err) {
    document.getElementById("explain-summary").textContent = `Not available: ${err.message}`;
  }
}

function renderCategories(k) {
  chart("categories", {
    type: "bar",
    data: { labels: k.categories.map((c) => c.category), datasets: [{ label: "Revenue", data: k.categories.map((c) => c.revenue), backgroundColor: "#4c6ef5" }] },
    options: {
      indexAxis: "y", maintainAspectRatio: false, plugins: { legend: { display: false },
        tooltip: { callbacks: { label: (c) => `${money.format(c.raw)} (${pct(k.categories[c.dataIndex].share)}), ${count.format(k.categories[c.dataIndex].orders)} orders`, footer: () => (api.report ? "" : "Click to filter by this category") } } },
      scales: { x: { ticks: moneyTick } },
      ...clickable((i) => drill("category", k.categories[i].category)),
    },
  });
}

function renderMethods(k) {
  // an empty box explains nothing: say why it is empty
  const empty = document.getElementById("methods-empty");
  empty.hidden = k.payment_methods.length > 0;
  empty.textContent = k.summary.orders > 0
    ? "No payments in this selection: the export has no payment records (a flat export needs a method column)."
    : "No revenue orders in this selection.";
  const colors = ["#3b5bdb", "#f08c00", "#2b8a3e", "#ae3ec9", "#e03131", "#1098ad", "#868e96"];
  chart("methods", {
    type: "doughnut",
    data: { labels: k.payment_methods.map((m) => m.method), datasets: [{ data: k.payment_methods.map((m) => m.amount), backgroundColor: colors, borderColor: colour("panel") }] },
    options: { maintainAspectRatio: false,
      plugins: { tooltip: { callbacks: { label: (c) => { const m = k.payment_methods[c.dataIndex]; return `${m.method}: ${money.format(m.amount)} (${pct(m.share)}), avg ${m.average_installments.toFixed(2)} instalments`; } } } },
      ...clickable((i) => drill("method", k.payment_methods[i].method)) },
  });
}

function renderFrequency(k) {
  const f = k.order_frequency;
  chart("frequency", {
    type: "bar",
    data: { labels: f.buckets.map((b) => `${b.orders} order${b.orders === "1" ? "" : "s"}`), datasets: [{ label: "Customers", data: f.buckets.map((b) => b.customers), backgroundColor: "#12b886" }] },
    options: {
      maintainAspectRatio: false,
      plugins: { legend: { display: false }, title: { display: true, text: `Repeat-customer rate ${pct(f.repeat_customer_rate)}` },
        tooltip: { callbacks: { label: (c) => `${count.format(c.raw)} customers (${pct(f.buckets[c.dataIndex].share)})` } } },
    },
  });
}

function renderTables(k) {
  const products = document.querySelector("#products tbody");
  products.replaceChildren(...k.top_products.map((p) => {
    const tr = document.createElement("tr");
    tr.append(cell(p.product_name || p.product_id, p.product_name ? p.product_id : null), cell(p.category), cell(money.format(p.revenue)), cell(count.format(p.units)), cell(pct(p.share)), cell(pct(p.cumulative_share)));
    if (!api.report && p.category) {
      // the API filters by category, not by product: a product drills to its category
      tr.className = "drill";
      tr.dataset.category = p.category;
      tr.title = `Filter by ${p.category}, this product's category (the dashboard cannot filter by one product)`;
      tr.addEventListener("click", () => drill("category", p.category));
    }
    return tr;
  }));
  const customers = document.querySelector("#customers tbody");
  customers.replaceChildren(...k.top_customers.map((c) => {
    const tr = document.createElement("tr");
    tr.append(cell(c.customer_name || c.customer_id, c.customer_name ? c.customer_id : null), cell(count.format(c.orders)), cell(money.format(c.revenue)), cell(money.format(c.average_order_value)), cell(c.first_order_date), cell(c.last_order_date));
    return tr;
  }));
}
