// The Customers view: returning customers, cohort heat map, RFM segments, CLV; every figure from
// /api/customers/*.

import * as api from "../api.js";
import { chart, colour } from "../charts.js";
import { money, count, pct, moneyTick, cell, save, saveCsv } from "../format.js";
import { read } from "../state.js";

export const name = "customers";
export const title = "Customers";
export const params = ["from", "to", "category", "country", "method", "channel", "product"];

let shown = null;

export async function load(s) {
  // RFM is as of the range's last day, CLV over the whole history: the catalog leaves their
  // dates out (neither takes from or to)
  const [cohorts, returning, rfm, clv] = await Promise.all([
    api.get("cohorts", s),
    api.get("returning", s),
    api.get("rfm", { ...s, as_of: s.to }),
    api.get("clv", s),
  ]);
  return { cohorts, returning, rfm, clv };
}

export function render(d) {
  shown = d;
  renderReturning(d.returning);
  renderCohorts(d.cohorts);
  renderSegments(d.rfm);
  renderClv(d.clv);
}

export function init() {
  document.getElementById("cohorts-csv").addEventListener("click", () => {
    if (!shown) return;
    saveCsv(shown.cohorts.cohorts.flatMap((c) => c.months.map((m) => ({ cohort: c.cohort, customers: c.customers, ...m }))), "cohorts.csv");
  });
}

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
      { label: "Revenue", data: segs.map((s) => s.revenue), backgroundColor: colour("accent"), yAxisID: "y" },
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
    b.hidden = Boolean(api.report); // a report holds the segments, not every customer
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

// One segment's customers as CSV, straight from the API (not in a report).
async function downloadSegment(segment) {
  const r = await fetch(api.url("rfm-customers", { ...read(), segment }), { headers: { Accept: "text/csv" } });
  const error = document.getElementById("error");
  if (!r.ok) {
    error.textContent = `Could not load the data: ${(await r.json().catch(() => ({}))).error || `HTTP ${r.status}`}`;
    error.hidden = false;
    return;
  }
  save(await r.blob(), `rfm-${segment.toLowerCase().replace(/[^a-z]+/g, "-")}.csv`);
}
