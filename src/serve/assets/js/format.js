// Formatting: money in the shop's currency, counts, percentages; table cells and CSV files.
// Every figure comes from the API as computed by the KPI engine; this module only formats it.

// the currency the import recorded (or --currency); without one, amounts carry no sign rather
// than a wrong one
const currency = document.body.dataset.currency || "";
const moneyStyle = currency ? { style: "currency", currency } : { minimumFractionDigits: 2 };
export const money = new Intl.NumberFormat(undefined, { ...moneyStyle, maximumFractionDigits: 2 });
export const money0 = new Intl.NumberFormat(undefined, { ...moneyStyle, minimumFractionDigits: 0, maximumFractionDigits: 0 });
export const count = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
export const pct = (x) => (x * 100).toLocaleString(undefined, { minimumFractionDigits: 1, maximumFractionDigits: 1 }) + " %";
export const moneyTick = { callback: (v) => money0.format(v) };

// "▲ +4.2 % vs previous period": a change against a comparison, in words
export function changeText(change, points, against) {
  const shown = points ? `${(change * 100).toFixed(1)} pts` : pct(change);
  return `${change >= 0 ? "▲ +" : "▼ "}${shown.replace("-", "")} vs ${against}`;
}

export function versusWords(vs) {
  if (vs === "previous_period") return "previous period";
  if (vs === "previous_year") return "a year before";
  const [a, b] = vs.split(":");
  return `${a} – ${b}`;
}

export function cell(text, sub) {
  const td = document.createElement("td");
  td.textContent = text;
  if (sub) { const s = document.createElement("small"); s.textContent = sub; td.append(s); }
  return td;
}

export function toCsv(rows) {
  if (!rows.length) return "";
  const keys = Object.keys(rows[0]);
  // text starting with = + - @ tab or CR would run as a formula in a spreadsheet: prefix a quote
  const safe = (v) => (typeof v === "string" && /^[=+\-@\t\r]/.test(v) ? `'${v}` : v);
  const esc = (v) => { const s = v === null || v === undefined ? "" : String(safe(v)); return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s; };
  return [keys.join(","), ...rows.map((r) => keys.map((k) => esc(r[k])).join(","))].join("\n") + "\n";
}

export function save(blob, name) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

export const saveCsv = (rows, name) => save(new Blob([toCsv(rows)], { type: "text/csv" }), name);
