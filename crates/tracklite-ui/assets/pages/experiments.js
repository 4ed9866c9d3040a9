// The experiments list: name, id, run count, last update; the view
// (active, deleted, all) is kept in the hash's query.

import { getJson } from "../api.js";
import { h, fmtTime } from "../dom.js";

export async function experimentsPage({ main, query }) {
  const view = query.get("view") || "active";
  const select = h(
    "select",
    {
      "data-testid": "experiment-view",
      onchange: (e) => {
        location.hash = `#/experiments?view=${e.target.value}`;
      },
    },
    ["active", "deleted", "all"].map((v) => h("option", { value: v, selected: v === view }, v)),
  );
  main.append(h("div", { class: "page-head" }, h("h1", {}, "Experiments"), h("label", {}, "show ", select)));
  const data = await getJson("/api/experiments", { view });
  const experiments = data.experiments;
  if (experiments.length === 0) {
    main.append(h("p", { class: "muted", "data-testid": "no-experiments" }, "No experiments."));
    return;
  }
  main.append(
    h(
      "table",
      { class: "grid", "data-testid": "experiments-table" },
      h(
        "thead",
        {},
        h("tr", {}, h("th", {}, "Name"), h("th", {}, "ID"), h("th", { class: "num" }, "Runs"), h("th", {}, "Last update")),
      ),
      h(
        "tbody",
        {},
        experiments.map((e) =>
          h(
            "tr",
            { "data-testid": "experiment-row", "data-experiment-id": e.experiment_id },
            h(
              "td",
              {},
              h("a", { href: `#/experiments/${encodeURIComponent(e.experiment_id)}`, "data-testid": "experiment-link" }, e.name),
              e.lifecycle_stage === "deleted" ? h("span", { class: "badge status-killed" }, "deleted") : null,
            ),
            h("td", { class: "mono" }, e.experiment_id),
            h("td", { class: "num", "data-testid": "run-count" }, String(e.run_count)),
            h("td", {}, fmtTime(e.last_update_time)),
          ),
        ),
      ),
    ),
  );
}
