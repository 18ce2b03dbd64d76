// End-to-end check of the dashboard in headless Chromium. Usage: node dashboard.mjs BASE_URL OUT_DIR
// Exits non-zero with a message on the first failed check; writes screenshots into OUT_DIR.
import { chromium } from "playwright-core";
import { mkdtempSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [base, out, reportFile] = process.argv.slice(2);
mkdirSync(out, { recursive: true });
const fail = (msg) => { throw new Error(msg); };
const expectEq = (got, want, what) => { if (JSON.stringify(got) !== JSON.stringify(want)) fail(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`); };
// the server requires sign-in: the API is read with a token, the page signs in through its form
const token = process.env.SHOPLENS_TOKEN;
const api = async (path) => (await fetch(base + path, token ? { headers: { Authorization: `Bearer ${token}` } } : {})).json();
const status = async (path) => (await fetch(base + path, token ? { headers: { Authorization: `Bearer ${token}` } } : {})).status;
// the same days a year earlier, as the page shifts them
const yearBefore = (d) => { const y = String(Number(d.slice(0, 4)) - 1).padStart(4, "0"); return d.slice(4) === "-02-29" ? `${y}-02-28` : y + d.slice(4); };

const browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), "shoplens-chromium-")), {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
  viewport: { width: 1280, height: 900 },
});
const checks = [];
try {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  // the server's Content-Security-Policy must not block anything the page does
  page.on("console", (m) => { if (/Content Security Policy/i.test(m.text())) errors.push(`CSP: ${m.text()}`); });
  const ready = async (previous) => {
    await page.waitForFunction((p) => document.body.dataset.ready && document.body.dataset.ready !== p && !document.body.classList.contains("loading"), previous, { timeout: 30000 });
    return page.evaluate(() => document.body.dataset.ready);
  };
  const cards = () => page.evaluate(() => Object.fromEntries([...document.querySelectorAll(".card")].map((c) => [c.dataset.kpi, Number(c.querySelector(".value").dataset.raw)])));
  const expectCards = async (k, what) => {
    const c = await cards();
    expectEq([c.total_revenue, c.orders, c.average_order_value, c.customers, c.repeat_customer_rate],
      [k.summary.total_revenue, k.summary.orders, k.summary.average_order_value, k.summary.customers, k.order_frequency.repeat_customer_rate], what);
  };

  await page.goto(base + "/");
  if (process.env.SHOPLENS_USER) {
    if (!page.url().endsWith("/signin")) fail(`an unsigned visit should land on /signin, got ${page.url()}`);
    await page.fill('input[name="user"]', process.env.SHOPLENS_USER);
    await page.fill('input[name="password"]', process.env.SHOPLENS_PASSWORD);
    await Promise.all([page.waitForURL(base + "/"), page.click('button[type="submit"]')]);
    checks.push("signed in through the form");
  }
  let gen = await ready("");
  // the first screen: the default range, compared with a period that has orders
  const dims = await api("/api/dimensions");
  const dr = dims.default_range;
  if (!dr) fail("the test shop has no default range");
  const opening = `from=${dr.from}&to=${dr.to}`;
  const all = await api(`/api/kpis?${opening}`);
  await expectCards(all, "cards show /api/kpis for the default range");
  const first = new URL(page.url()).searchParams;
  expectEq([first.get("preset"), first.get("from"), first.get("to")], ["default", dr.from, dr.to], "the opening range in the URL");
  expectEq(await page.$eval("#preset", (e) => e.selectedOptions[0].textContent), dr.label, "the opening range's name");
  const change = await page.textContent('.card[data-kpi="total_revenue"] .change');
  const cmp = await api(`/api/kpis/compare?${opening}&vs=${encodeURIComponent(dr.vs)}`);
  if (!cmp.comparison.summary.orders || /no earlier data/.test(change)) fail(`the first screen compares with nothing: ${change}`);
  const sameYear = cmp.comparison.from === (await api(`/api/kpis/compare?${opening}&vs=previous_year`)).comparison.from;
  if (sameYear !== (await page.isHidden('.card[data-kpi="orders"] .change-py'))) fail("the previous-year change repeats (or omits) the comparison shown");
  checks.push("the first screen opens on the default range and compares it with a period that has orders");
  const shownRevenue = await page.textContent('.card[data-kpi="total_revenue"] .value');
  if (!/\d{1,3}(,\d{3})+/.test(shownRevenue)) fail(`revenue not formatted with thousands separators: ${shownRevenue}`);

  const trend = await page.evaluate(() => { const c = Chart.getChart("trend"); return { labels: c.data.labels.length, revenue: c.data.datasets[0].data, sets: c.data.datasets.map((d) => d.label), w: c.width }; });
  expectEq(trend.revenue.slice(0, all.monthly.length), all.monthly.map((m) => m.revenue), "trend chart data");
  if (!trend.sets.includes("Forecast") || !trend.sets.includes("80 % interval")) fail(`no forecast band on the trend chart: ${trend.sets}`);
  if (trend.w < 100) fail("trend chart not drawn");
  const bars = await page.evaluate(() => Chart.getChart("categories").data.datasets[0].data);
  expectEq(bars, all.categories.map((c) => c.revenue), "category chart data");
  const rows = await page.$$eval("#products tbody tr", (r) => r.length);
  expectEq(rows, all.top_products.length, "top products rows");
  checks.push("charts render the API's data, forecast band included");

  // insights: the projection card, the alert list, and the bridge behind the revenue change
  const proj = await api("/api/projection");
  expectEq(await page.evaluate(() => Number(document.querySelector("#projection-card .value").dataset.raw)), proj.projection, "projection card");
  const alerts = await api("/api/alerts");
  expectEq(await page.$$eval("#alerts li", (l) => l.length), Math.max(alerts.alerts.length, 1), "alert list");
  await page.click('.card[data-kpi="total_revenue"] .change');
  await page.waitForFunction(() => document.getElementById("explain-panel").dataset.ready, null, { timeout: 30000 });
  const ex = await api(`/api/explain?${opening}&vs=${encodeURIComponent(dr.vs)}`);
  expectEq(await page.textContent("#explain-summary"), ex.summary, "bridge summary");
  const fall = await page.evaluate(() => Chart.getChart("waterfall").data.datasets[0].data);
  expectEq([fall[0][1], fall[fall.length - 1][1], fall.length], [ex.comparison.revenue, ex.range.revenue, 4], "orders x value waterfall");
  await page.selectOption("#explain-view", "categories");
  const catFall = await page.evaluate(() => Chart.getChart("waterfall").data.datasets[0].data);
  expectEq(catFall.length, ex.views.categories.length + 2, "category waterfall bars");
  checks.push("projection card, alerts and the revenue bridge show the API's figures");
  await page.screenshot({ path: join(out, "dashboard.png"), fullPage: true });

  await page.selectOption("#country", "DE");
  gen = await ready(gen);
  if (!page.url().includes("country=DE")) fail(`URL does not hold the filter: ${page.url()}`);
  await expectCards(await api(`/api/kpis?${opening}&country=DE`), "cards after country=DE");
  const c = await cards();
  if (c.total_revenue === all.summary.total_revenue) fail("the country filter did not change the cards");
  checks.push("a filter changes the cards and the URL");

  await page.selectOption("#preset", "last12");
  gen = await ready(gen);
  const url = new URL(page.url());
  const from = url.searchParams.get("from"), to = url.searchParams.get("to");
  if (!from || !to) fail(`preset did not set the range in the URL: ${page.url()}`);
  await expectCards(await api(`/api/kpis?from=${from}&to=${to}&country=DE`), "cards after the last-12-months preset");
  await page.reload();
  await ready("");
  await expectCards(await api(`/api/kpis?from=${from}&to=${to}&country=DE`), "cards after reload");
  checks.push("a view reloads from its URL");

  const [download] = await Promise.all([page.waitForEvent("download"), page.click('[data-csv="top_products"]')]);
  if (download.suggestedFilename() !== "top_products.csv") fail("CSV download name");
  checks.push("CSV download");

  // the Customers page: the same filters, figures from /api/customers/*
  await page.click('#views a[data-view="customers"]');
  gen = await ready(gen);
  if (!page.url().includes("view=customers")) fail(`URL does not hold the view: ${page.url()}`);
  const cu = new URL(page.url()).searchParams;
  const cq = new URLSearchParams();
  for (const k of ["from", "to", "country"]) if (cu.get(k)) cq.set(k, cu.get(k));
  const cohorts = await api(`/api/customers/cohorts?${cq}`);
  const heat = await page.$$eval("#cohorts tbody tr", (rows) => rows.map((r) => [...r.querySelectorAll("td")].slice(2).map((td) => Number(td.dataset.retention))));
  expectEq(heat.length, cohorts.cohorts.length, "cohort rows");
  expectEq(heat[0], cohorts.cohorts[0].months.map((m) => m.retention), "first cohort's retention cells");
  const rq = new URLSearchParams({ country: cu.get("country") || "", as_of: cu.get("to") || "" });
  const rfm = await api(`/api/customers/rfm?${rq}`);
  const segBars = await page.evaluate(() => Chart.getChart("segments").data.datasets[0].data);
  expectEq(segBars, rfm.segments.map((s) => s.revenue), "segment chart revenue");
  const clvApi = await api(`/api/customers/clv?country=${cu.get("country") || ""}`);
  const clvRows = await page.$$eval("#clv tbody tr td:first-child", (tds) => tds.map((t) => t.textContent));
  expectEq(clvRows, clvApi.top.map((p) => p.customer_id), "CLV table");
  if (!(await page.textContent("#clv-note")).includes("BG/NBD")) fail("no plain-words note on the CLV fit");
  checks.push("the Customers page shows the API's cohorts, segments and CLV");
  await page.screenshot({ path: join(out, "customers.png"), fullPage: true });
  const top = rfm.segments.find((s) => s.customers > 0);
  const [segCsv] = await Promise.all([page.waitForEvent("download"), page.click(`button.segment-csv[data-segment="${top.segment}"]`)]);
  const csvPath = await segCsv.path();
  const lines = (await import("node:fs")).readFileSync(csvPath, "utf8").trim().split("\n");
  expectEq(lines.length - 1, top.customers, `${top.segment} CSV rows`);
  checks.push("a segment's customers download as CSV");
  await page.click('#views a[data-view="overview"]');
  gen = await ready(gen);

  // drill-down: a click on a category's bar filters the whole dashboard by it, with a chip;
  // Back undoes it; a product drills to its category; a chip's × removes its filter
  const here = new URL(page.url()).searchParams;
  const sel = new URLSearchParams();
  for (const k of ["from", "to", "category", "country", "method"]) if (here.get(k)) sel.set(k, here.get(k));
  const undrilled = await api(`/api/kpis?${sel}`);
  await expectCards(undrilled, "cards before the drill-down");
  // in the middle of the screen: the sticky header covers the top
  await page.evaluate(() => document.getElementById("categories").scrollIntoView({ block: "center" }));
  const bar = await page.evaluate(() => {
    const c = Chart.getChart("categories");
    const el = c.getDatasetMeta(0).data[0];
    const r = c.canvas.getBoundingClientRect();
    return { x: r.left + (el.x + el.base) / 2, y: r.top + el.y, label: c.data.labels[0] };
  });
  await page.mouse.click(bar.x, bar.y);
  gen = await ready(gen);
  expectEq(new URL(page.url()).searchParams.get("category"), bar.label, "the clicked category in the URL");
  const drilled = await api(`/api/kpis?${sel}&category=${encodeURIComponent(bar.label)}`);
  await expectCards(drilled, "cards after a click on a category");
  if (drilled.summary.total_revenue === undrilled.summary.total_revenue) fail("the drill-down did not change the figures");
  expectEq(await page.$$eval("#chips .chip", (c) => c.map((b) => b.dataset.filter)), ["category", "country"], "a chip per drill filter");
  await page.goBack();
  gen = await ready(gen);
  if (new URL(page.url()).searchParams.get("category")) fail(`Back did not undo the drill-down: ${page.url()}`);
  await expectCards(undrilled, "cards after Back");
  const product = await page.$eval("#products tbody tr.drill", (tr) => ({ category: tr.dataset.category, title: tr.title }));
  if (!/category/.test(product.title)) fail(`a product row does not say it drills to its category: ${product.title}`);
  await page.click("#products tbody tr.drill");
  gen = await ready(gen);
  expectEq(new URL(page.url()).searchParams.get("category"), product.category, "a product drills to its category");
  await page.click('#chips .chip[data-filter="category"]');
  gen = await ready(gen);
  if (new URL(page.url()).searchParams.get("category")) fail(`the chip did not remove its filter: ${page.url()}`);
  await expectCards(undrilled, "cards after the chip's ×");
  // a payment method's slice
  await page.evaluate(() => document.getElementById("methods").scrollIntoView({ block: "center" }));
  const slice = await page.evaluate(() => {
    const c = Chart.getChart("methods");
    const p = c.getDatasetMeta(0).data[0].getCenterPoint();
    const r = c.canvas.getBoundingClientRect();
    return { x: r.left + p.x, y: r.top + p.y, label: c.data.labels[0] };
  });
  await page.mouse.click(slice.x, slice.y);
  gen = await ready(gen);
  expectEq(new URL(page.url()).searchParams.get("method"), slice.label, "the clicked payment method in the URL");
  await expectCards(await api(`/api/kpis?${sel}&method=${encodeURIComponent(slice.label)}`), "cards after a click on a payment method");
  await page.goBack();
  gen = await ready(gen);
  await expectCards(undrilled, "cards after Back from a payment method");
  checks.push("a click on a category, a product or a payment method drills down (URL, figures, chips), Back and × undo it");

  // the previous year: a dashed line of the same months a year earlier, in the URL; the cards'
  // change against the previous year beside their comparison
  await page.check("#prev-year");
  gen = await ready(gen);
  if (new URL(page.url()).searchParams.get("py") !== "1") fail(`the overlay is not in the URL: ${page.url()}`);
  const py = new URLSearchParams(sel);
  py.set("from", yearBefore(sel.get("from")));
  py.set("to", yearBefore(sel.get("to")));
  const lastYear = await api(`/api/kpis/monthly?${py}`);
  const overlay = await page.evaluate(() => { const c = Chart.getChart("trend"); const d = c.data.datasets.find((x) => x.label === "Previous year"); return d && { labels: c.data.labels, data: d.data, dash: d.borderDash }; });
  if (!overlay) fail("no previous-year line on the trend chart");
  const want = new Map(lastYear.map((m) => [m.month, m.revenue]));
  expectEq(overlay.data, overlay.labels.map((m) => want.get(yearBefore(m + "-01").slice(0, 7)) ?? null), "previous-year line");
  if (!overlay.data.some((v) => v !== null) || !overlay.dash.length) fail("the previous-year line is empty or not dashed");
  const ycmp = await api(`/api/kpis/compare?${sel}&vs=previous_year`);
  if (await page.isHidden('.card[data-kpi="orders"] .change-py')) fail("the previous-year change is hidden beside a previous-period comparison");
  const pyText = await page.textContent('.card[data-kpi="orders"] .change-py');
  const pyWant = ycmp.comparison.summary.orders > 0 ? "vs a year before" : "no orders a year before";
  if (!pyText.includes(pyWant)) fail(`the orders card's previous-year change: ${pyText}`);
  await page.reload();
  gen = await ready("");
  if (!(await page.isChecked("#prev-year"))) fail("the overlay did not survive a reload");
  checks.push("the monthly chart overlays the previous year (from the URL) and the cards compare with it");

  // dark mode: the toggle's choice, remembered; charts take the theme's colours
  await page.selectOption("#theme", "dark");
  const dark = await page.evaluate(() => ({ bg: getComputedStyle(document.body).backgroundColor, chart: Chart.defaults.color, muted: getComputedStyle(document.documentElement).getPropertyValue("--muted").trim(), line: getComputedStyle(document.documentElement).getPropertyValue("--line").trim(), grid: Chart.getChart("trend").options.scales.x.grid.color }));
  const lum = (rgb) => rgb.match(/\d+/g).slice(0, 3).map(Number).reduce((a, b) => a + b, 0);
  if (lum(dark.bg) > 150) fail(`dark mode's background is light: ${dark.bg}`);
  expectEq([dark.chart, dark.grid], [dark.muted, dark.line], "chart text and grid colours from the dark theme");
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(out, "dark.png"), fullPage: true });
  await page.reload();
  gen = await ready("");
  expectEq(await page.evaluate(() => [document.documentElement.dataset.theme, document.getElementById("theme").value]), ["dark", "dark"], "the theme remembered");
  await page.selectOption("#theme", "system");
  await page.emulateMedia({ colorScheme: "dark" });
  if (lum(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)) > 150) fail("the system's dark scheme is not followed");
  await page.emulateMedia({ colorScheme: "light" });
  if (lum(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)) < 600) fail("the system's light scheme is not followed");
  checks.push("dark mode: toggle, remembered, follows the system, charts re-coloured");

  await page.click('#views a[data-view="map"]');
  gen = await ready(gen);
  // every country: the country filter's chip removes it
  await page.click('#chips .chip[data-filter="country"]');
  gen = await ready(gen);
  sel.delete("country");
  {
    const countries = await api(`/api/countries?${sel}`);
    expectEq(await page.$$eval("#country-table tbody tr td:first-child", (t) => t.map((x) => x.textContent)), countries.countries.map((c) => c.country ?? "(none)"), "country table");
    const shapes = await page.evaluate(() => Chart.getChart("world").data.datasets[0].data.filter((d) => d.value !== null).length);
    if (!shapes) fail("no country coloured on the map");
    // the last row with a country (customers without one have a row but no filter to drill to)
    const at = countries.countries.map((c) => c.country !== null).lastIndexOf(true);
    const target = countries.countries[at];
    await page.click(`#country-table tbody tr:nth-child(${at + 1})`);
    gen = await ready(gen);
    expectEq(new URL(page.url()).searchParams.get("country"), target.country, "a country drills down");
    await page.goBack();
    gen = await ready(gen);
    // a click on the country's shape drills down as well
    const top = countries.countries[0];
    await page.evaluate(() => document.getElementById("world").scrollIntoView({ block: "center" }));
    const spot = await page.evaluate((code) => {
      const c = Chart.getChart("world");
      const i = c.data.datasets[0].data.findIndex((d) => d.value === c.data.datasets[0].data.filter((x) => x.value !== null).reduce((a, b) => (b.value > a.value ? b : a)).value);
      const p = c.getDatasetMeta(0).data[i].getCenterPoint();
      const r = c.canvas.getBoundingClientRect();
      return { x: r.left + p.x, y: r.top + p.y, code };
    }, top.country);
    await page.mouse.click(spot.x, spot.y);
    gen = await ready(gen);
    expectEq(new URL(page.url()).searchParams.get("country"), top.country, "a click on the map drills down");
    await page.goBack();
    gen = await ready(gen);
    checks.push("the map shows /api/countries and a country (row or shape) drills down");
  }
  await page.screenshot({ path: join(out, "map.png"), fullPage: true });

  await page.click('#views a[data-view="products"]');
  gen = await ready(gen);
  {
    const perf = await api(`/api/products?${sel}&level=product`);
    const names = await page.$$eval("#products-table tbody tr td:first-child", (t) => t.map((x) => x.firstChild.textContent));
    expectEq(names, perf.items.slice(0, 200).map((r) => r.name), "products table, by net sales");
    expectEq(await page.$$eval("#products-table tbody svg.spark", (s) => s.length > 0), true, "sparklines drawn");
    // a product with variants lists them
    const at = perf.items.slice(0, 200).findIndex((r) => r.variants > 1);
    if (at >= 0) {
      const variants = (await api(`/api/products?${sel}&level=variant`)).items.filter((v) => v.product === perf.items[at].item);
      await page.click(`#products-table tbody tr:nth-child(${at + 1})`);
      expectEq(await page.$$eval("#variants-table tbody tr", (r) => r.length), variants.length, "a product's variants");
    }
    // sorting by units puts the most units first
    await page.click('#products-table th[data-key="units"]');
    const top = Math.max(...perf.items.map((r) => r.units));
    expectEq(await page.$eval("#products-table tbody tr td:nth-child(4)", (t) => Number(t.textContent.replace(/[^0-9]/g, ""))), top, "sorted by units");
    const pairs = await api(`/api/products/pairs?${sel}&level=product&top=20`);
    expectEq(await page.$$eval("#pairs-table tbody tr", (r) => r.length), pairs.rules.length, "bought-together rules");
    const journey = await api(`/api/products/journey?${sel}&level=product&top=10`);
    expectEq(await page.$$eval("#journey-table tbody tr", (r) => r.length), journey.items.length + 1, "journey rows");
    checks.push("the products view: the table by net sales, sparklines, variants, sorting, pairs, journey");
  }
  await page.screenshot({ path: join(out, "products.png"), fullPage: true });
  await page.click('#views a[data-view="overview"]');
  gen = await ready(gen);

  const phone = await browser.newPage();
  await phone.setViewportSize({ width: 390, height: 844 });
  await phone.goto(page.url());
  await phone.waitForFunction(() => document.body.dataset.ready && !document.body.classList.contains("loading"), null, { timeout: 30000 });
  const width = await phone.evaluate(() => document.documentElement.scrollWidth);
  if (width > 400) fail(`the page is ${width}px wide on a 390px phone`);
  await phone.screenshot({ path: join(out, "mobile.png"), fullPage: true });
  checks.push("readable on a phone");
  // 390 px: no horizontal scroll, cards stacked, wide tables scroll inside their panel
  const narrow = await phone.evaluate(() => ({
    width: document.documentElement.scrollWidth,
    columns: new Set([...document.querySelectorAll("#cards .card")].map((c) => Math.round(c.getBoundingClientRect().left))).size,
    table: (() => { const w = document.querySelector("#products").closest(".table-wrap"); return [w.scrollWidth > w.clientWidth, w.getBoundingClientRect().right <= 390]; })(),
  }));
  if (narrow.width > 390) fail(`the page scrolls sideways at 390 px: ${narrow.width}px`);
  expectEq(narrow.columns, 1, "cards stacked at 390 px");
  expectEq(narrow.table, [true, true], "the products table scrolls inside its panel");
  checks.push("usable at 390 px: no sideways scroll, cards stacked, tables scroll in their panel");

  const broken = await browser.newPage();
  await broken.route("**/api/kpis?*", (r) => r.fulfill({ status: 500, contentType: "application/json", body: '{"error":"boom"}' }));
  await broken.route("**/api/kpis", (r) => r.fulfill({ status: 500, contentType: "application/json", body: '{"error":"boom"}' }));
  await broken.goto(base + "/");
  await broken.waitForSelector("#error:not([hidden])", { timeout: 30000 });
  const msg = await broken.textContent("#error");
  if (!msg.includes("boom")) fail(`error message not shown: ${msg}`);
  checks.push("a failing API shows a clear message");
  if (reportFile) {
    // the report: the same page, drawn offline from the data embedded in it
    const rp = await browser.newPage();
    const failed = [];
    rp.on("pageerror", (e) => errors.push(`report: ${e}`));
    rp.on("requestfailed", (r) => failed.push(r.url()));
    await rp.goto("file://" + reportFile);
    await rp.waitForFunction(() => document.body.dataset.ready && !document.body.classList.contains("loading"), null, { timeout: 30000 });
    // the report's answers by canonical URL; each panel's by its path
    const embedded = await rp.evaluate(() => {
      const at = (path) => Object.entries(window.SHOPLENS_REPORT.answers).find(([u]) => u.split("?")[0] === path)?.[1];
      return { kpis: at("/api/kpis"), explain: at("/api/explain"), alerts: at("/api/alerts"), projection: at("/api/projection"), cohorts: at("/api/customers/cohorts") };
    });
    const rc = await rp.evaluate(() => Object.fromEntries([...document.querySelectorAll(".card[data-kpi]")].map((c) => [c.dataset.kpi, Number(c.querySelector(".value").dataset.raw)])));
    expectEq([rc.total_revenue, rc.orders, rc.customers], [embedded.kpis.summary.total_revenue, embedded.kpis.summary.orders, embedded.kpis.summary.customers], "report cards");
    const rtrend = await rp.evaluate(() => Chart.getChart("trend").data.datasets[0].data);
    expectEq(rtrend.slice(0, embedded.kpis.monthly.length), embedded.kpis.monthly.map((m) => m.revenue), "report trend chart");
    await rp.waitForFunction(() => document.getElementById("explain-panel").dataset.ready, null, { timeout: 30000 });
    expectEq(await rp.textContent("#explain-summary"), embedded.explain.summary, "report bridge");
    expectEq(await rp.$$eval("#alerts li", (l) => l.length), Math.max(embedded.alerts.alerts.length, 1), "report alerts");
    expectEq(await rp.evaluate(() => Number(document.querySelector("#projection-card .value").dataset.raw)), embedded.projection.projection, "report projection");
    // the previous-year overlay from the answers the report embeds for it
    await rp.check("#prev-year");
    await rp.waitForFunction(() => Chart.getChart("trend").data.datasets.some((d) => d.label === "Previous year" && d.data.some((v) => v !== null)), null, { timeout: 30000 });
    await rp.click('#views a[data-view="customers"]');
    await rp.waitForFunction(() => !document.getElementById("customers-view").hidden && document.querySelectorAll("#cohorts tbody tr").length > 0, null, { timeout: 30000 });
    expectEq(await rp.$$eval("#cohorts tbody tr", (r) => r.length), embedded.cohorts.cohorts.length, "report cohort rows");
    if (await rp.evaluate(() => !document.getElementById("country").disabled)) fail("the report's filters are not fixed");
    await rp.click('#views a[data-view="map"]');
    await rp.waitForFunction(() => !document.getElementById("map-view").hidden && document.getElementById("map-note").textContent, null, { timeout: 30000 });
    const mapped = await rp.evaluate(() => Object.entries(window.SHOPLENS_REPORT.answers).find(([u]) => u.split("?")[0] === "/api/countries")[1]);
    expectEq(await rp.$$eval("#country-table tbody tr td:first-child", (t) => t.map((x) => x.textContent)), mapped.countries.map((c) => c.country ?? "(none)"), "the report's map table");
    if (!(await rp.evaluate(() => Chart.getChart("world").data.datasets[0].data.some((d) => d.value !== null)))) fail("the report's map has no country coloured");
    await rp.click('#views a[data-view="customers"]');
    if (failed.length) fail(`the report fetched: ${failed.join(", ")}`);
    await rp.screenshot({ path: join(out, "report.png"), fullPage: true });
    checks.push("the report is the same page, drawn offline from its embedded data");
  }
  if (errors.length) fail(`page errors: ${errors.join("; ")}`);
  console.log(JSON.stringify({ ok: true, checks }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, checks, error: String(e.message || e) }));
  process.exitCode = 1;
} finally {
  await browser.close();
}
