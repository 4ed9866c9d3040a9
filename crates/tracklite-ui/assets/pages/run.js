// One run: info, params, tags (mlflow.* folded away), inputs, a metrics
// summary, a chart per metric, the artifacts; refreshed every 2 s while
// the run is RUNNING.

import { getJson } from "../api.js";
import { h, fmtTime, fmtDuration, fmtValue, kvTable, statusBadge } from "../dom.js";
import { startPolling } from "../poll.js";
import { ChartGroup } from "../charts.js";
import { artifactBrowser } from "./artifacts.js";

function split(tags) {
  const user = {};
  const system = {};
  for (const [k, v] of Object.entries(tags || {})) (k.startsWith("mlflow.") ? system : user)[k] = v;
  return { user, system };
}

function infoTable(info) {
  const rows = [
    ["Run ID", h("span", { class: "mono", "data-testid": "run-id" }, info.run_id)],
    ["Experiment", h("a", { href: `#/experiments/${encodeURIComponent(info.experiment_id)}` }, info.experiment_id)],
    ["Status", statusBadge(info.status)],
    ["Started", fmtTime(info.start_time)],
    ["Ended", info.end_time ? fmtTime(info.end_time) : "—"],
    ["Duration", fmtDuration((info.end_time ?? Date.now()) - info.start_time)],
    ["User", info.user_id || "—"],
    ["Lifecycle", info.lifecycle_stage],
    ["Artifact URI", h("span", { class: "mono" }, info.artifact_uri || "")],
  ];
  return h("table", { class: "kv", "data-testid": "run-info" }, h("tbody", {}, rows.map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", {}, v)))));
}

function inputsTable(inputs) {
  if (!inputs || inputs.length === 0) return h("p", { class: "muted", "data-testid": "inputs" }, "None");
  return h(
    "table",
    { class: "grid", "data-testid": "inputs" },
    h("thead", {}, h("tr", {}, ["Name", "Digest", "Source type", "Source", "Context"].map((c) => h("th", {}, c)))),
    h(
      "tbody",
      {},
      inputs.map((i) =>
        h("tr", {}, h("td", {}, i.name), h("td", { class: "mono" }, i.digest), h("td", {}, i.source_type), h("td", { class: "mono wrap" }, i.source), h("td", {}, i.context || "")),
      ),
    ),
  );
}

function metricsTable(metrics) {
  if (metrics.length === 0) return h("p", { class: "muted", "data-testid": "metrics-summary" }, "None");
  return h(
    "table",
    { class: "grid", "data-testid": "metrics-summary" },
    h("thead", {}, h("tr", {}, ["Metric", "Latest", "Step", "Min", "Max", "Points", "Logged"].map((c) => h("th", {}, c)))),
    h(
      "tbody",
      {},
      [...metrics]
        .sort((a, b) => a.key.localeCompare(b.key))
        .map((m) =>
          h(
            "tr",
            { "data-testid": "metric-row", "data-key": m.key },
            h("td", {}, m.key),
            h("td", { class: "num", "data-testid": "metric-value" }, fmtValue(m.value)),
            h("td", { class: "num" }, String(m.step)),
            h("td", { class: "num" }, fmtValue(m.min)),
            h("td", { class: "num" }, fmtValue(m.max)),
            h("td", { class: "num" }, String(m.count)),
            h("td", { class: "nowrap" }, fmtTime(m.timestamp)),
          ),
        ),
    ),
  );
}

export async function runPage({ main, params: [runId], onCleanup }) {
  let run = await getJson("/api/run", { run_id: runId });
  const title = h("h1", { "data-testid": "run-name" }, run.info.run_name || run.info.run_id);
  const infoSlot = h("div", {}, infoTable(run.info));
  const summarySlot = h("div", {}, metricsTable(run.metrics));
  const chartSlot = h("div", {});
  const label = () => run.info.run_name || run.info.run_id.slice(0, 8);
  let keys = run.metrics.map((m) => m.key).sort();
  let charts = new ChartGroup([{ run_id: runId, label: label() }], keys);
  chartSlot.append(charts.element);
  onCleanup(() => charts.destroy());
  const { user, system } = split(run.tags);
  const artifacts = artifactBrowser(runId);

  main.append(
    h(
      "div",
      { class: "page-head" },
      title,
      h("a", { href: `#/experiments/${encodeURIComponent(run.info.experiment_id)}`, class: "muted" }, "← runs of its experiment"),
    ),
    h(
      "div",
      { class: "columns" },
      h("section", { class: "panel" }, h("h2", {}, "Run"), infoSlot),
      h("section", { class: "panel" }, h("h2", {}, "Parameters"), kvTable(run.params, "params")),
    ),
    h(
      "div",
      { class: "columns" },
      h(
        "section",
        { class: "panel" },
        h("h2", {}, "Tags"),
        kvTable(user, "tags"),
        Object.keys(system).length
          ? h("details", { "data-testid": "system-tags" }, h("summary", {}, `mlflow.* tags (${Object.keys(system).length})`), kvTable(system, "system-tags-table"))
          : null,
      ),
      h("section", { class: "panel" }, h("h2", {}, "Inputs"), inputsTable(run.inputs)),
    ),
    h("section", { class: "panel" }, h("h2", {}, "Metrics"), summarySlot),
    chartSlot,
    h("section", { class: "panel" }, h("h2", {}, "Artifacts"), artifacts.element),
  );
  charts.load();
  artifacts.load();

  /** Live refresh: the run's info and summary, then its charts (new keys get a chart). */
  async function refresh() {
    run = await getJson("/api/run", { run_id: runId });
    infoSlot.replaceChildren(infoTable(run.info));
    summarySlot.replaceChildren(metricsTable(run.metrics));
    const fresh = run.metrics.map((m) => m.key).sort();
    if (fresh.join("\n") !== keys.join("\n")) {
      keys = fresh;
      charts.destroy();
      charts = new ChartGroup([{ run_id: runId, label: label() }], keys);
      chartSlot.replaceChildren(charts.element);
    }
    await charts.refresh();
  }
  onCleanup(startPolling(refresh, () => run.info.status === "RUNNING"));
}
