// Small DOM and formatting helpers shared by every page.

/**
 * Creates an element: h("a", {href: "#/", class: "x", "data-testid": "t"}, "text", child).
 * Attributes starting with "on" are event listeners; null/false attributes are skipped;
 * children may be strings, nodes, arrays or null.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (name === "value" || name === "checked") {
      el[name] = value;
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

/** The JSON API encodes non-finite floats as strings; this makes them numbers again. */
export function num(value) {
  if (typeof value === "number") return value;
  if (value === "NaN") return NaN;
  if (value === "Infinity") return Infinity;
  if (value === "-Infinity") return -Infinity;
  if (value === null || value === undefined) return null;
  return Number(value);
}

/** A metric value as a table shows it: 4 significant digits, NaN and ±inf spelled out. */
export function fmtValue(value) {
  const v = num(value);
  if (v === null) return "";
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
  const abs = Math.abs(v);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e6)) return v.toExponential(3);
  return String(Number(v.toPrecision(4)));
}

const pad = (n, width = 2) => String(n).padStart(width, "0");

/** Milliseconds since the epoch as local "YYYY-MM-DD HH:MM:SS". */
export function fmtTime(ms) {
  if (ms === null || ms === undefined) return "";
  const d = new Date(Number(ms));
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
  );
}

/** A duration in milliseconds as "1h 02m", "3m 04s", "5.2s". */
export function fmtDuration(ms) {
  if (ms === null || ms === undefined || ms < 0) return "";
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${pad(Math.floor(s % 60))}s`;
  return `${Math.floor(m / 60)}h ${pad(m % 60)}m`;
}

/** A bytes count as "12 B", "3.4 KiB", "5.6 MiB". */
export function fmtBytes(n) {
  if (n === null || n === undefined) return "";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = Number(n);
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** A run status as a coloured badge. */
export function statusBadge(status) {
  const s = String(status || "").toUpperCase();
  return h("span", { class: `badge status-${s.toLowerCase()}`, "data-testid": "status" }, s);
}

/** A key/value table (params, tags); empty objects give a short note. */
export function kvTable(obj, testid) {
  const keys = Object.keys(obj || {}).sort();
  if (keys.length === 0) return h("p", { class: "muted", "data-testid": testid }, "None");
  return h(
    "table",
    { class: "kv", "data-testid": testid },
    h(
      "tbody",
      {},
      keys.map((k) => h("tr", {}, h("th", {}, k), h("td", {}, String(obj[k])))),
    ),
  );
}
