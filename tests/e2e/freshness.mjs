// The dashboard's freshness line in headless Chromium: the last import's time and a failing
// scheduled source. Usage: node freshness.mjs BASE_URL OUT_DIR; prints a JSON line on success.
import { chromium } from "playwright-core";
import { mkdtempSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [base, out] = process.argv.slice(2);
mkdirSync(out, { recursive: true });
const browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), "shoplens-chromium-")), {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
  viewport: { width: 1280, height: 900 },
});
try {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => { if (/Content Security Policy/i.test(m.text())) errors.push(`CSP: ${m.text()}`); });
  await page.goto(base + "/");
  await page.waitForFunction(() => {
    const el = document.getElementById("freshness");
    return el && !el.hidden && el.querySelector(".failing");
  }, null, { timeout: 30000 });
  const text = await page.evaluate(() => document.getElementById("freshness").innerText);
  await page.screenshot({ path: join(out, "freshness.png") });
  if (!/Last import/.test(text)) throw new Error(`no last import time: ${text}`);
  if (!/Source “drop” failing/.test(text)) throw new Error(`no failing source: ${text}`);
  if (errors.length) throw new Error(errors.join("; "));
  console.log(JSON.stringify({ ok: true, text }));
} finally {
  await browser.close();
}
