// The shoplens dashboard: reads the filters from the URL, fetches the API, draws every widget.
// All figures come from the API as computed by the KPI engine; this file only formats them.
"use strict";

// the currency the import recorded (or --currency); without one, amounts carry no sign rather
// than a wrong one
const currency = document.body.dataset.currency || "";
const moneyStyle = currency ? { style: "currency", currency } : { minimumFractionDigits: 2 };
const money = new Intl.NumberFormat(undefined, { ...moneyStyle, maximumFractionDigits: 2 });
const money0 = new Intl.NumberFormat(undefined, { ...moneyStyle, minimumFractionDigits: 0, maximumFractionDigits: 0 });
const count = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const pct = (x) => (x * 100).toLocaleString(undefined, { minimumFractionDigits: 1, maximumFractionDigits: 1 }) + " %";
const FILTERS = ["from", "to", "category", "country", "method"];
const charts = {};
// still charts: figures appear at once and screenshots never catch a half-drawn chart
Chart.defaults.animation = false;
let data = null;
let dims = null;
let generation = 0;
// A report (`shoplens report`) is this page with the API's answers for one selection embedded:
// the same drawing code, no server.
const REPORT = window.SHOPLENS_REPORT || null;
let reportView = "overview";
const REPORT_DATA = { "/api/dimensions": "dimensions", "/api/kpis": "kpis", "/api/kpis/compare": "compare",
  "/api/forecast": "forecast", "/api/customers/cohorts": "cohorts", "/api/customers/returning": "returning",
  "/api/customers/rfm": "rfm", "/api/customers/clv": "clv", "/api/explain": "explain",
  "/api/projection": "projection", "/api/alerts": "alerts" };
let explanation = null;

function query(params) {
  const q = new URLSearchParams();
  for (const k of FILTERS) if (params[k]) q.set(k, params[k]);
  return q;
}

function state() {
  if (REPORT) return { ...REPORT.filter, preset: REPORT.filter.from || REPORT.filter.to ? "custom" : "all", view: reportView };
  const u = new URLSearchParams(location.search);
  const s = {};
  for (const k of FILTERS) s[k] = u.get(k) || "";
  // a first visit opens on the default range, which has a period before it to compare with
  const opening = dims && dims.default_range && !s.from && !s.to ? "default" : "all";
  s.preset = u.get("preset") || (s.from || s.to ? "custom" : opening);
  s.view = u.get("view") === "customers" ? "customers" : "overview";
  return s;
}

async function getJSON(path) {
  if (REPORT) {
    const v = REPORT.data[REPORT_DATA[path.split("?")[0]]];
    if (v === null || v === undefined) throw new Error("not in this report");
    return v;
  }
  const r = await fetch(path);
  const body = await r.json().catch(() => ({ error: `HTTP ${r.status}` }));
  if (!r.ok) throw new Error(body.error || `HTTP ${r.status}`);
  return body;
}

function showError(message) {
  const e = document.getElementById("error");
  e.textContent = message ? `Could not load the data: ${message}` : "";
  e.hidden = !message;
}

function iso(d) {
  return d.toISOString().slice(0, 10);
}

// Presets are relative to the last order day of the data, not to today: an export is a snapshot.
function presetRange(preset) {
  if (!dims || !dims.last_date) return ["", ""];
  const end = new Date(dims.last_date + "T00:00:00Z");
  const start = new Date(end);
  if (preset === "default") return dims.default_range ? [dims.default_range.from, dims.default_range.to] : ["", ""];
  if (preset === "last30") start.setUTCDate(end.getUTCDate() - 29);
  else if (preset === "last12") { start.setUTCMonth(end.getUTCMonth() - 11, 1); }
  else if (preset === "quarter") { start.setUTCMonth(Math.floor(end.getUTCMonth() / 3) * 3, 1); }
  else return ["", ""];
  return [iso(start), iso(end)];
}

// What the selection is compared with: the default range's own comparison, else the period
// just before.
function versus(s) {
  if (REPORT) return REPORT.vs || "previous_period";
  return s.preset === "default" && dims && dims.default_range ? dims.default_range.vs : "previous_period";
}

function versusWords(vs) {
  if (vs === "previous_period") return "previous period";
  if (vs === "previous_year") return "a year before";
  const [a, b] = vs.split(":");
  return `${a} – ${b}`;
}

// Whether the current comparison has orders: the revenue bridge opens only then.
let comparable = false;

function writeUrl(s) {
  if (REPORT) { reportView = s.view; return; }
  const q = query(s);
  // "all" is written too: without a preset, a visit opens on the default range
  if (s.preset && s.preset !== "custom") q.set("preset", s.preset);
  if (s.view === "customers") q.set("view", "customers");
  const url = q.toString() ? `?${q}` : location.pathname;
  history.replaceState(null, "", url);
}

function fillSelect(id, values, chosen) {
  const el = document.getElementById(id);
  el.length = 1;
  for (const v of values) el.add(new Option(v, v));
  el.value = chosen;
}

function formToState() {
  const s = { view: state().view };
  for (const k of FILTERS) s[k] = document.getElementById(k).value;
  s.preset = document.getElementById("preset").value;
  return s;
}

function stateToForm(s) {
  for (const k of FILTERS) document.getElementById(k).value = s[k];
  document.getElementById("preset").value = s.preset;
}

function setChange(card, change, points) {
  const el = card.querySelector(".change");
  el.classList.remove("up", "down");
  if (change === null || change === undefined) { el.textContent = "no earlier data to compare"; return; }
  const shown = points ? `${(change * 100).toFixed(1)} pts` : pct(change);
  el.textContent = `${change >= 0 ? "▲ +" : "▼ "}${shown.replace("-", "")} vs ${versusWords(versus(state()))}`;
  el.classList.add(change >= 0 ? "up" : "down");
}

function renderCards(k, cmp) {
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
    card.querySelector(".value").textContent = values[key];
    card.querySelector(".value").dataset.raw = key === "repeat_customer_rate" ? k.order_frequency.repeat_customer_rate : s[key];
    setChange(card, cmp ? cmp.change[key] : null, key === "repeat_customer_rate");
  }
  comparable = Boolean(cmp && cmp.comparison.summary.orders > 0);
  const revenueChange = document.querySelector('.card[data-kpi="total_revenue"] .change');
  revenueChange.classList.toggle("clickable", comparable);
  revenueChange.title = comparable ? "Why? Open the revenue bridge" : "";
}

function chart(id, config) {
  if (charts[id]) charts[id].destroy();
  charts[id] = new Chart(document.getElementById(id), config);
}

const moneyTick = { callback: (v) => money0.format(v) };

// The monthly trend: revenue and orders, the month in progress drawn hollow with its projection,
// and the forecast for the first month after it: one expected figure per month.
function renderTrend(k, fc, proj) {
  const labels = k.monthly.map((m) => m.month);
  const revenue = k.monthly.map((m) => m.revenue);
  const last = k.monthly[k.monthly.length - 1];
  const progress = last && !last.complete ? k.monthly.length - 1 : -1;
  const projected = progress >= 0 && proj && proj.month === last.month ? proj.projection : null;
  const datasets = [
    { label: "Revenue", data: revenue, borderColor: "#3b5bdb", backgroundColor: "#3b5bdb", yAxisID: "y", tension: 0.2,
      pointBackgroundColor: labels.map((_, i) => (i === progress ? "#fff" : "#3b5bdb")),
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
      { label: "Forecast", data: place(f.forecast), borderColor: "#3b5bdb", backgroundColor: "#fff", borderDash: [6, 4], yAxisID: "y", pointRadius: 4, spanGaps: true },
    );
    const current = projected !== null ? ` ${last.month} is in progress: projected ${money.format(projected)}.` : "";
    note.textContent = `Forecast for ${f.month}: ${money.format(f.forecast)} (80 %: ${money0.format(f.interval_80[0])} – ${money0.format(f.interval_80[1])}; 95 %: ${money0.format(f.interval_95[0])} – ${money0.format(f.interval_95[1])}). Method ${fc.model}: ${fc.explanation}.${current}`;
  } else {
    note.textContent = "Forecast: not available for this selection (it needs at least 3 complete months).";
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
  for (const [name, amount] of steps) {
    labels.push(name);
    bars.push([level, level + amount]);
    colors.push(amount >= 0 ? "#2b8a3e" : "#e03131");
    level += amount;
  }
  labels.push(last[0]);
  bars.push([0, last[1]]);
  colors.push("#3b5bdb");
  chart("waterfall", {
    type: "bar",
    data: { labels, datasets: [{ label: "Revenue", data: bars, backgroundColor: colors }] },
    options: {
      maintainAspectRatio: false, plugins: { legend: { display: false },
        tooltip: { callbacks: { label: (c) => { const [a, b] = c.raw; const i = c.dataIndex; return i === 0 || i === labels.length - 1 ? money.format(b) : `${b - a >= 0 ? "+" : ""}${money.format(b - a)}`; } } } },
      scales: { y: { ticks: moneyTick } },
    },
  });
}

// Opens the bridge panel for the current selection (from the revenue card's change).
async function openExplain() {
  const panel = document.getElementById("explain-panel");
  // a bridge against a period without orders would explain nothing
  if (!comparable) { panel.hidden = true; return; }
  panel.hidden = false;
  const s = state();
  const q = query(s).toString();
  const mine = generation;
  try {
    const e = await getJSON(`/api/explain?${q}${q ? "&" : ""}vs=${encodeURIComponent(versus(s))}`);
    if (mine !== generation) return;
    explanation = e;
    renderExplain(e);
    panel.dataset.ready = String(mine);
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
        tooltip: { callbacks: { label: (c) => `${money.format(c.raw)} (${pct(k.categories[c.dataIndex].share)}), ${count.format(k.categories[c.dataIndex].orders)} orders` } } },
      scales: { x: { ticks: moneyTick } },
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
    data: { labels: k.payment_methods.map((m) => m.method), datasets: [{ data: k.payment_methods.map((m) => m.amount), backgroundColor: colors }] },
    options: { maintainAspectRatio: false, plugins: { tooltip: { callbacks: { label: (c) => { const m = k.payment_methods[c.dataIndex]; return `${m.method}: ${money.format(m.amount)} (${pct(m.share)}), avg ${m.average_installments.toFixed(2)} instalments`; } } } } },
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

function cell(text, sub) {
  const td = document.createElement("td");
  td.textContent = text;
  if (sub) { const s = document.createElement("small"); s.textContent = sub; td.append(s); }
  return td;
}

function renderTables(k) {
  const products = document.querySelector("#products tbody");
  products.replaceChildren(...k.top_products.map((p) => {
    const tr = document.createElement("tr");
    tr.append(cell(p.product_name || p.product_id, p.product_name ? p.product_id : null), cell(p.category), cell(money.format(p.revenue)), cell(count.format(p.units)), cell(pct(p.share)), cell(pct(p.cumulative_share)));
    return tr;
  }));
  const customers = document.querySelector("#customers tbody");
  customers.replaceChildren(...k.top_customers.map((c) => {
    const tr = document.createElement("tr");
    tr.append(cell(c.customer_name || c.customer_id, c.customer_name ? c.customer_id : null), cell(count.format(c.orders)), cell(money.format(c.revenue)), cell(money.format(c.average_order_value)), cell(c.first_order_date), cell(c.last_order_date));
    return tr;
  }));
}

function toCsv(rows) {
  if (!rows.length) return "";
  const keys = Object.keys(rows[0]);
  // text starting with = + - @ tab or CR would run as a formula in a spreadsheet: prefix a quote
  const safe = (v) => (typeof v === "string" && /^[=+\-@\t\r]/.test(v) ? `'${v}` : v);
  const esc = (v) => { const s = v === null || v === undefined ? "" : String(safe(v)); return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s; };
  return [keys.join(","), ...rows.map((r) => keys.map((k) => esc(r[k])).join(","))].join("\n") + "\n";
}

function download(section) {
  if (!data) return;
  const rows = section === "order_frequency" ? data.order_frequency.buckets : data[section];
  save(new Blob([toCsv(rows)], { type: "text/csv" }), `${section}.csv`);
}

// The Customers view: cohort heat map, RFM segments, CLV; every figure from /api/customers/*.
function renderReturning(r) {
  document.querySelector("#returning-card .value").textContent = pct(r.returning_customer_rate);
  document.querySelector("#returning-card .change").textContent =
    `${count.format(r.returning)} of ${count.format(r.customers)} customers had ordered before (2+ orders ever)`;
  document.querySelector("#repeat-card .value").textContent = pct(r.repeat_customer_rate);
  document.querySelector("#repeat-card .change").textContent = "2+ orders inside the range";
}

function renderCohorts(c) {
  const table = document.getElementById("cohorts");
  const width = Math.max(0, ...c.cohorts.map((x) => x.months.length));
  const head = document.createElement("tr");
  for (const h of ["Cohort", "Customers", ...Array.from({ length: width }, (_, k) => `+${k}`)]) {
    const th = document.createElement("th");
    th.textContent = h;
    head.append(th);
  }
  table.tHead.replaceChildren(head);
  table.tBodies[0].replaceChildren(...c.cohorts.map((co) => {
    const tr = document.createElement("tr");
    tr.append(cell(co.cohort), cell(count.format(co.customers)));
    for (const m of co.months) {
      const td = cell(pct(m.retention));
      td.dataset.retention = m.retention;
      td.title = `${co.cohort} +${m.k} (${m.month}): ${count.format(m.active)} of ${count.format(co.customers)} active, revenue ${money.format(m.revenue)}, cumulative ${money.format(m.cumulative_revenue_per_customer)} per customer${m.complete ? "" : " (incomplete month)"}`;
      // CSSOM, not a style attribute: allowed by the page's Content-Security-Policy
      td.style.backgroundColor = `rgba(59, 91, 219, ${Math.min(1, m.retention * (m.k === 0 ? 0.35 : 1.6)).toFixed(3)})`;
      if (m.k > 0 && m.retention > 0.3) td.style.color = "#fff";
      if (!m.complete) td.classList.add("incomplete");
      tr.append(td);
    }
    return tr;
  }));
}

function renderSegments(r) {
  document.getElementById("rfm-note").textContent = r.as_of ? `as of ${r.as_of}` : "";
  const segs = r.segments;
  chart("segments", {
    type: "bar",
    data: { labels: segs.map((s) => s.segment), datasets: [
      { label: "Revenue", data: segs.map((s) => s.revenue), backgroundColor: "#3b5bdb", yAxisID: "y" },
      { label: "Customers", data: segs.map((s) => s.customers), backgroundColor: "#94a3b8", yAxisID: "y1" },
    ] },
    options: { maintainAspectRatio: false, scales: { y: { ticks: moneyTick }, y1: { position: "right", grid: { drawOnChartArea: false } } },
      plugins: { tooltip: { callbacks: { label: (c) => (c.datasetIndex === 0
        ? `${money.format(c.raw)} (${pct(segs[c.dataIndex].share_of_revenue)} of revenue)`
        : `${count.format(c.raw)} customers (${pct(segs[c.dataIndex].share_of_customers)})`) } } } },
  });
  const body = document.querySelector("#segment-table tbody");
  body.replaceChildren(...segs.map((s) => {
    const tr = document.createElement("tr");
    const b = document.createElement("button");
    b.textContent = "CSV";
    b.className = "segment-csv";
    b.dataset.segment = s.segment;
    b.disabled = s.customers === 0;
    b.hidden = !!REPORT; // a report holds the segments, not every customer
    b.addEventListener("click", () => downloadSegment(s.segment));
    const td = document.createElement("td");
    td.append(b);
    tr.append(cell(s.segment), cell(count.format(s.customers)), cell(money.format(s.revenue)), cell(pct(s.share_of_revenue)),
      cell(s.mean_recency_days.toFixed(1)), cell(s.mean_frequency.toFixed(2)), cell(money.format(s.mean_monetary)), td);
    return tr;
  }));
}

function renderClv(c) {
  const note = document.getElementById("clv-note");
  if (!c.bgnbd || !c.gamma_gamma) {
    note.textContent = `No lifetime values: ${c.warnings.join("; ") || "not enough data"}.`;
  } else {
    const b = c.bgnbd, g = c.gamma_gamma;
    const meanSpend = g.p * g.v / (g.q - 1);
    note.textContent = `Fitted on ${count.format(c.customers)} customers (${count.format(c.repeaters)} bought again) up to ${c.calibration_end}. ` +
      `BG/NBD r = ${b.r}, α = ${b.alpha}, a = ${b.a}, b = ${b.b}: while active, a typical customer buys about ${(52 * b.r / b.alpha).toFixed(1)} times a year, ` +
      `and after each purchase drops out with probability about ${pct(b.a / (b.a + b.b))}. ` +
      `Gamma-Gamma p = ${g.p}, q = ${g.q}, v = ${g.v}: a purchase is worth ${money.format(meanSpend)} on average.` +
      (b.converged && g.converged ? "" : " (An optimiser did not converge: treat with care.)");
  }
  const body = document.querySelector("#clv tbody");
  body.replaceChildren(...c.top.map((p) => {
    const tr = document.createElement("tr");
    tr.append(cell(p.customer_id), cell(count.format(p.x)), cell(pct(p.p_alive)), cell(p.expected_purchases.toFixed(2)),
      cell(money.format(p.expected_value)), cell(money.format(p.clv)));
    return tr;
  }));
}

let customerData = null;

function cohortsCsv() {
  if (!customerData) return;
  const rows = customerData.cohorts.cohorts.flatMap((c) => c.months.map((m) => ({ cohort: c.cohort, customers: c.customers, ...m })));
  const blob = new Blob([toCsv(rows)], { type: "text/csv" });
  save(blob, "cohorts.csv");
}

async function downloadSegment(segment) {
  const s = state();
  const q = query({ ...s, from: "", to: "" });
  q.set("segment", segment);
  const r = await fetch(`/api/customers/rfm/customers?${q}`, { headers: { Accept: "text/csv" } });
  if (!r.ok) { showError((await r.json().catch(() => ({}))).error || `HTTP ${r.status}`); return; }
  save(await r.blob(), `rfm-${segment.toLowerCase().replace(/[^a-z]+/g, "-")}.csv`);
}

function save(blob, name) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

async function loadCustomers(mine, s) {
  const q = query(s).toString();
  const sep = q ? `?${q}` : "";
  const rest = query({ ...s, from: "", to: "" }).toString();
  const rsep = rest ? `?${rest}` : "";
  const [cohorts, returning, rfm, clv] = await Promise.all([
    getJSON(`/api/customers/cohorts${sep}`),
    getJSON(`/api/customers/returning${sep}`),
    getJSON(`/api/customers/rfm${s.to ? `?${rest}${rest ? "&" : ""}as_of=${s.to}` : rsep}`),
    getJSON(`/api/customers/clv${rsep}`),
  ]);
  if (mine !== generation) return false;
  customerData = { cohorts, returning, rfm, clv };
  renderReturning(returning);
  renderCohorts(cohorts);
  renderSegments(rfm);
  renderClv(clv);
  return true;
}

function showView(view) {
  document.getElementById("overview-view").hidden = view !== "overview";
  document.getElementById("customers-view").hidden = view !== "customers";
  for (const a of document.querySelectorAll("#views a")) a.classList.toggle("active", a.dataset.view === view);
}

async function load() {
  const mine = ++generation;
  const s = state();
  stateToForm(s);
  showView(s.view);
  const q = query(s).toString();
  document.body.classList.add("loading");
  try {
    const drawn = s.view === "customers" ? await loadCustomers(mine, s) : await loadOverview(mine, q);
    if (drawn) {
      showError("");
      document.body.dataset.ready = String(mine);
    }
  } catch (e) {
    if (mine === generation) showError(e.message);
  } finally {
    if (mine === generation) document.body.classList.remove("loading");
  }
}

// The Overview: cards, trend with forecast, charts and tables; false when a newer load started.
async function loadOverview(mine, q) {
  const sep = q ? `?${q}` : "";
  // the projection is of the current month: the selection's category, country and method only
  const pq = new URLSearchParams(q);
  pq.delete("from");
  pq.delete("to");
  const psep = pq.toString() ? `?${pq}` : "";
  const [k, cmp, fc, proj, alerts] = await Promise.all([
    getJSON(`/api/kpis${sep}`),
    getJSON(`/api/kpis/compare?${q}${q ? "&" : ""}vs=${encodeURIComponent(versus(state()))}`).catch(() => null),
    getJSON(`/api/forecast${sep}${sep ? "&" : "?"}horizon=2`).catch(() => null),
    getJSON(`/api/projection${psep}`).catch(() => null),
    getJSON("/api/alerts").catch(() => null),
  ]);
  if (mine !== generation) return false;
  data = k;
  renderCards(k, cmp);
  renderProjection(proj);
  renderAlerts(alerts);
  const panel = document.getElementById("explain-panel");
  if (REPORT) openExplain();
  else if (!panel.hidden) openExplain();
  renderTrend(k, fc, proj);
  renderCategories(k);
  renderMethods(k);
  renderFrequency(k);
  renderTables(k);
  return true;
}

function onChange(event) {
  const s = formToState();
  if (event.target.id === "preset") {
    if (s.preset !== "custom") [s.from, s.to] = presetRange(s.preset);
  } else if (event.target.id === "from" || event.target.id === "to") {
    s.preset = "custom";
  }
  writeUrl(s);
  load();
}

async function start() {
  try {
    dims = await getJSON("/api/dimensions");
  } catch (e) {
    showError(e.message);
    document.body.classList.remove("loading");
    return;
  }
  const s = state();
  fillSelect("category", dims.categories, s.category);
  fillSelect("country", dims.countries, s.country);
  fillSelect("method", dims.methods, s.method);
  for (const id of ["from", "to"]) {
    document.getElementById(id).min = dims.first_date || "";
    document.getElementById(id).max = dims.last_date || "";
  }
  const opening = document.querySelector('#preset option[value="default"]');
  opening.hidden = !dims.default_range;
  if (dims.default_range) opening.textContent = dims.default_range.label;
  // a preset in the URL is resolved against the data's last day
  if (s.preset !== "all" && s.preset !== "custom" && !s.from && !s.to) {
    [s.from, s.to] = presetRange(s.preset);
    writeUrl(s);
  }
  // a report's figures are fixed: its filters only show the selection
  if (REPORT) for (const el of document.querySelectorAll("#filters select, #filters input")) el.disabled = true;
  document.getElementById("filters").addEventListener("change", onChange);
  for (const b of document.querySelectorAll("[data-csv]")) b.addEventListener("click", () => download(b.dataset.csv));
  document.getElementById("cohorts-csv").addEventListener("click", cohortsCsv);
  // the revenue card's change opens the bridge that explains it
  const revenueChange = document.querySelector('.card[data-kpi="total_revenue"] .change');
  revenueChange.addEventListener("click", openExplain);
  document.getElementById("explain-view").addEventListener("change", () => { if (explanation) renderExplain(explanation); });
  document.getElementById("explain-close").addEventListener("click", () => { document.getElementById("explain-panel").hidden = true; });
  for (const a of document.querySelectorAll("#views a")) {
    a.addEventListener("click", (e) => {
      e.preventDefault();
      writeUrl({ ...state(), view: a.dataset.view });
      load();
    });
  }
  window.addEventListener("popstate", load);
  load();
}

start();
