// The model registry: registered models with their aliases and latest
// versions, paged with the server's token.

import { getJson } from "../api.js";
import { h, fmtTime } from "../dom.js";

export function aliasChips(aliases) {
  const entries = Object.entries(aliases || {});
  if (entries.length === 0) return h("span", { class: "muted" }, "—");
  return entries.map(([alias, version]) => h("span", { class: "chip", "data-testid": "alias" }, `@${alias} → v${version}`));
}

export async function modelsPage({ main, query }) {
  const filter = query.get("filter") || "";
  const input = h("input", { type: "search", class: "filter-input", value: filter, placeholder: "name LIKE '%clf%'", "data-testid": "model-filter" });
  const error = h("div", { class: "filter-error", hidden: true, "data-testid": "model-filter-error" });
  const body = h("tbody", {});
  const more = h("button", { type: "button", hidden: true, "data-testid": "models-more" }, "Load more");
  main.append(
    h("div", { class: "page-head" }, h("h1", {}, "Registered models")),
    h(
      "form",
      {
        class: "filter",
        onsubmit: (e) => {
          e.preventDefault();
          location.hash = `#/models?filter=${encodeURIComponent(input.value.trim())}`;
        },
      },
      input,
      h("button", { type: "submit" }, "Search"),
    ),
    error,
    h(
      "table",
      { class: "grid", "data-testid": "models-table" },
      h("thead", {}, h("tr", {}, ["Name", "Aliases", "Latest versions", "Last update", "Description"].map((c) => h("th", {}, c)))),
      body,
    ),
    more,
  );

  let token = null;
  async function load() {
    let data;
    try {
      data = await getJson("/api/models", { filter, max_results: 100, page_token: token });
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
      return;
    }
    for (const m of data.registered_models) {
      body.append(
        h(
          "tr",
          { "data-testid": "model-row", "data-name": m.name },
          h("td", {}, h("a", { href: `#/models/${encodeURIComponent(m.name)}`, "data-testid": "model-link" }, m.name)),
          h("td", {}, aliasChips(m.aliases)),
          h(
            "td",
            {},
            (m.latest_versions || []).map((v) => h("span", { class: "chip" }, `v${v.version}${v.current_stage && v.current_stage !== "None" ? ` (${v.current_stage})` : ""}`)),
          ),
          h("td", { class: "nowrap" }, fmtTime(m.last_updated_timestamp)),
          h("td", {}, m.description || ""),
        ),
      );
    }
    if (body.children.length === 0) body.append(h("tr", {}, h("td", { colspan: "5", class: "muted" }, "No registered models.")));
    token = data.next_page_token || null;
    more.hidden = !token;
  }
  more.addEventListener("click", load);
  await load();
}
