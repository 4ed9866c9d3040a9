// The run table's columns: the fixed attribute columns, the chosen
// metrics/params/tags columns (choices kept in localStorage per
// experiment), and each column's order_by clause for the server.

import { h } from "../dom.js";

/** Attribute columns; `sort` is the attribute's name in an order_by clause (none: not sortable). */
export const ATTRIBUTE_COLUMNS = [
  { id: "run_name", label: "Run", sort: "run_name" },
  { id: "status", label: "Status", sort: "status" },
  { id: "start_time", label: "Started", sort: "start_time" },
  { id: "duration", label: "Duration", sort: null },
  { id: "user_id", label: "User", sort: "user_id" },
];

const PLAIN_KEY = /^[A-Za-z0-9_]+$/;

/** The order_by clause of a column: `metrics.acc DESC`, ``params.`my key` ASC``, `start_time ASC`. */
export function orderClause(column, descending) {
  const dir = descending ? "DESC" : "ASC";
  if (column.kind === "attr") return `${column.sort} ${dir}`;
  const key = PLAIN_KEY.test(column.key) ? column.key : `\`${column.key.replaceAll("`", "")}\``;
  return `${column.kind}.${key} ${dir}`;
}

/** The column an order_by clause sorts on and its direction, or null. */
export function parseOrder(clause) {
  if (!clause) return null;
  const m = clause.match(/^(.*?)\s+(ASC|DESC)$/i) || [null, clause, "ASC"];
  const name = m[1].replace(/^attributes\./, "").replaceAll("`", "");
  return { id: name, descending: m[2].toUpperCase() === "DESC" };
}

/** Whether a key column shows when the user never chose: metrics, params and user tags do. */
function shownByDefault(kind, key) {
  return !(kind === "tags" && key.startsWith("mlflow."));
}

export class ColumnChoice {
  constructor(experimentId) {
    this.storageKey = `tracklite.columns.${experimentId}`;
    try {
      this.choices = JSON.parse(localStorage.getItem(this.storageKey) || "{}");
    } catch {
      this.choices = {};
    }
  }

  shown(kind, key) {
    const id = `${kind}.${key}`;
    return id in this.choices ? this.choices[id] : shownByDefault(kind, key);
  }

  set(kind, key, shown) {
    this.choices[`${kind}.${key}`] = shown;
    localStorage.setItem(this.storageKey, JSON.stringify(this.choices));
  }

  /** The key columns to show for the rows' keys, metrics then params then tags. */
  columns(keys) {
    const out = [];
    for (const kind of ["metrics", "params", "tags"]) {
      for (const key of keys[kind]) {
        if (this.shown(kind, key)) out.push({ id: `${kind}.${key}`, kind, key, label: key });
      }
    }
    return out;
  }

  /** The chooser: a drop-down with a checkbox per key; `changed()` after each toggle. */
  chooser(keys, changed) {
    const sections = ["metrics", "params", "tags"].map((kind) =>
      h(
        "fieldset",
        {},
        h("legend", {}, kind),
        keys[kind].length === 0
          ? h("span", { class: "muted" }, "none")
          : keys[kind].map((key) =>
              h(
                "label",
                { class: "choice" },
                h("input", {
                  type: "checkbox",
                  checked: this.shown(kind, key),
                  "data-testid": "column-option",
                  "data-column": `${kind}.${key}`,
                  onchange: (e) => {
                    this.set(kind, key, e.target.checked);
                    changed();
                  },
                }),
                ` ${key}`,
              ),
            ),
      ),
    );
    return h(
      "details",
      { class: "chooser", "data-testid": "column-chooser" },
      h("summary", {}, "Columns"),
      h("div", { class: "chooser-body" }, sections),
    );
  }
}

/** The sorted union of the rows' metric, param and tag keys. */
export function rowKeys(rows) {
  const sets = { metrics: new Set(), params: new Set(), tags: new Set() };
  for (const r of rows) {
    for (const kind of ["metrics", "params", "tags"]) {
      for (const k of Object.keys(r[kind] || {})) sets[kind].add(k);
    }
  }
  const sorted = (s) => [...s].sort((a, b) => a.localeCompare(b));
  return { metrics: sorted(sets.metrics), params: sorted(sets.params), tags: sorted(sets.tags) };
}
