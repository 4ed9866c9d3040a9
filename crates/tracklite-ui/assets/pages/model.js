// One registered model: description, tags, aliases, and its versions
// (stage, status, aliases, tags, a link to the run that made each).

import { getJson } from "../api.js";
import { h, fmtTime, kvTable } from "../dom.js";
import { aliasChips } from "./models.js";

export async function modelPage({ main, params: [name] }) {
  const data = await getJson("/api/model", { name });
  const model = data.registered_model;
  const versions = [...data.versions].sort((a, b) => Number(b.version) - Number(a.version));
  main.append(
    h("div", { class: "page-head" }, h("h1", { "data-testid": "model-name" }, model.name), h("a", { href: "#/models", class: "muted" }, "← all models")),
    model.description ? h("p", { "data-testid": "model-description" }, model.description) : null,
    h(
      "div",
      { class: "columns" },
      h("section", { class: "panel" }, h("h2", {}, "Aliases"), h("div", { "data-testid": "model-aliases" }, aliasChips(model.aliases))),
      h("section", { class: "panel" }, h("h2", {}, "Tags"), kvTable(model.tags, "model-tags")),
    ),
    h(
      "section",
      { class: "panel" },
      h("h2", {}, "Versions"),
      h(
        "table",
        { class: "grid", "data-testid": "versions-table" },
        h("thead", {}, h("tr", {}, ["Version", "Stage", "Status", "Aliases", "Run", "Source", "Created", "Tags", "Description"].map((c) => h("th", {}, c)))),
        h(
          "tbody",
          {},
          versions.map((v) =>
            h(
              "tr",
              { "data-testid": "version-row", "data-version": v.version },
              h("td", {}, `v${v.version}`),
              h("td", {}, v.current_stage || "None"),
              h("td", {}, v.status),
              h("td", {}, (v.aliases || []).map((a) => h("span", { class: "chip", "data-testid": "alias" }, `@${a}`))),
              h("td", {}, v.run_id ? h("a", { href: `#/runs/${v.run_id}`, class: "mono", "data-testid": "version-run" }, v.run_id.slice(0, 8)) : "—"),
              h("td", { class: "mono wrap" }, v.source || ""),
              h("td", { class: "nowrap" }, fmtTime(v.creation_timestamp)),
              h("td", {}, Object.entries(v.tags || {}).map(([k, val]) => h("span", { class: "chip" }, `${k}=${val}`))),
              h("td", {}, v.description || ""),
            ),
          ),
        ),
      ),
    ),
  );
}
