// The picked runs' metrics overlaid: one chart per metric key, a colour
// and legend entry per run; refreshed every 2 s while one is RUNNING.

import { getJson } from "../api.js";
import { h, statusBadge } from "../dom.js";
import { startPolling } from "../poll.js";
import { ChartGroup } from "../charts.js";
import { PALETTE } from "../chart.js";

const MAX_RUNS = 50; // runs overlaid at most, to keep each request bounded

export async function comparePage({ main, query, onCleanup }) {
  const ids = (query.get("runs") || "").split(",").filter(Boolean).slice(0, MAX_RUNS);
  const experimentId = query.get("experiment");
  main.append(
    h(
      "div",
      { class: "page-head" },
      h("h1", {}, `Compare ${ids.length} run${ids.length === 1 ? "" : "s"}`),
      experimentId ? h("a", { class: "muted", href: `#/experiments/${encodeURIComponent(experimentId)}` }, "← back to the runs") : null,
    ),
  );
  if (ids.length === 0) {
    main.append(h("p", { class: "muted" }, "Pick runs in a run table, then Compare."));
    return;
  }
  let runs = await Promise.all(ids.map((id) => getJson("/api/run", { run_id: id })));
  const labels = runs.map((r) => ({ run_id: r.info.run_id, label: r.info.run_name || r.info.run_id.slice(0, 8) }));
  const runList = h(
    "ul",
    { class: "run-chips", "data-testid": "compare-runs" },
    runs.map((r, i) =>
      h(
        "li",
        {},
        h("span", { class: "legend-swatch", style: `background:${PALETTE[i % PALETTE.length]}` }),
        h("a", { href: `#/runs/${r.info.run_id}` }, labels[i].label),
        " ",
        statusBadge(r.info.status),
      ),
    ),
  );
  const { keys } = await getJson("/api/metric-keys", { run_ids: ids.join(",") });
  const charts = new ChartGroup(labels, keys);
  onCleanup(() => charts.destroy());
  main.append(runList, charts.element);
  await charts.load();

  async function refresh() {
    runs = await Promise.all(ids.map((id) => getJson("/api/run", { run_id: id })));
    await charts.refresh();
  }
  onCleanup(startPolling(refresh, () => runs.some((r) => r.info.status === "RUNNING")));
}
