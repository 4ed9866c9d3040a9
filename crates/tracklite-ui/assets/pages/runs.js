// An experiment's run table: the MLflow filter box (the server's error
// shown under it, the table left as it was), sort by any column header,
// column chooser, "load more" paging, run selection for the compare view,
// and live refresh of running rows.

import { ApiError, getJson } from "../api.js";
import { h, fmtTime, fmtDuration, fmtValue, statusBadge } from "../dom.js";
import { startPolling } from "../poll.js";
import { ATTRIBUTE_COLUMNS, ColumnChoice, orderClause, parseOrder, rowKeys } from "./columns.js";

const PAGE_SIZE = 100;
const LIVE_MAX = 100; // running rows refreshed per tick, to keep the request bounded

export async function runsPage({ main, params: [experimentId], query, onCleanup }) {
  const state = {
    filter: query.get("filter") || "",
    order: query.get("order") || "",
    rows: [],
    next: null,
    selected: new Set(),
  };
  const columns = new ColumnChoice(experimentId);

  // The first page is asked for at once, beside the experiment's name: one round trip, not two.
  const firstPage = fetchPage(state.filter, state.order, null).then(
    (page) => ({ page }),
    (error) => ({ error }),
  );
  const experiments = await getJson("/api/experiments", { view: "all" });
  const experiment = experiments.experiments.find((e) => e.experiment_id === experimentId);
  if (!experiment) throw new ApiError(404, "RESOURCE_DOES_NOT_EXIST", `no experiment with id ${experimentId}`);

  const input = h("input", {
    type: "search",
    class: "filter-input",
    placeholder: "metrics.acc > 0.5 and params.lr = '0.01'",
    value: state.filter,
    spellcheck: "false",
    "data-testid": "filter-input",
  });
  const error = h("div", { class: "filter-error", "data-testid": "filter-error", hidden: true });
  const form = h(
    "form",
    {
      class: "filter",
      onsubmit: (e) => {
        e.preventDefault();
        reload(input.value.trim(), state.order);
      },
    },
    input,
    h("button", { type: "submit", "data-testid": "filter-apply" }, "Search"),
  );
  const countLabel = h("span", { class: "muted", "data-testid": "runs-count" });
  const compare = h(
    "button",
    {
      type: "button",
      "data-testid": "compare-button",
      disabled: true,
      onclick: () => {
        const ids = [...state.selected].join(",");
        location.hash = `#/compare?runs=${ids}&experiment=${encodeURIComponent(experimentId)}`;
      },
    },
    "Compare",
  );
  const chooserSlot = h("span", {});
  const tableSlot = h("div", { class: "table-wrap" });
  const more = h(
    "button",
    { type: "button", "data-testid": "load-more", hidden: true, onclick: () => loadMore() },
    "Load more",
  );
  main.append(
    h(
      "div",
      { class: "page-head" },
      h("h1", { "data-testid": "experiment-name" }, experiment.name),
      h("span", { class: "muted mono" }, `id ${experiment.experiment_id}`),
    ),
    form,
    error,
    h("div", { class: "toolbar" }, countLabel, compare, chooserSlot),
    tableSlot,
    more,
  );

  function setHash() {
    const q = new URLSearchParams();
    if (state.filter) q.set("filter", state.filter);
    if (state.order) q.set("order", state.order);
    const s = q.toString();
    history.replaceState(null, "", `#/experiments/${encodeURIComponent(experimentId)}${s ? `?${s}` : ""}`);
  }

  async function fetchPage(filter, order, token) {
    return getJson("/api/runs", {
      experiment_ids: experimentId,
      filter,
      order_by: order || null,
      max_results: PAGE_SIZE,
      page_token: token,
    });
  }

  /**
   * A new filter or order: the first page (or the answer `started` already
   * holds); on a bad filter, the message and the old table.
   */
  async function reload(filter, order, started = null) {
    let page;
    try {
      if (started) {
        const { page: got, error: failed } = await started;
        if (failed) throw failed;
        page = got;
      } else {
        page = await fetchPage(filter, order, null);
      }
    } catch (err) {
      if (!(err instanceof ApiError) || err.status >= 500) throw err;
      error.textContent = err.message;
      error.hidden = false;
      return;
    }
    error.hidden = true;
    error.textContent = "";
    state.filter = filter;
    state.order = order;
    state.rows = page.runs;
    state.next = page.next_page_token || null;
    setHash();
    render();
  }

  async function loadMore() {
    if (!state.next) return;
    more.disabled = true;
    try {
      const page = await fetchPage(state.filter, state.order, state.next);
      state.rows = state.rows.concat(page.runs);
      state.next = page.next_page_token || null;
      render();
    } finally {
      more.disabled = false;
    }
  }

  function sortBy(column) {
    const current = parseOrder(state.order);
    // A first click sorts metrics and start times descending (highest, newest
    // first), other columns ascending; a second click reverses.
    let descending = column.kind === "metrics" || column.id === "start_time";
    if (current && current.id === column.id) descending = !current.descending;
    reload(state.filter, orderClause(column, descending));
  }

  function header(column) {
    const sortable = column.kind !== "attr" || column.sort;
    const current = parseOrder(state.order);
    const active = current && current.id === column.id;
    const arrow = active ? (current.descending ? " ▼" : " ▲") : "";
    return h(
      "th",
      {
        class: `${sortable ? "sortable" : ""} ${column.kind === "metrics" ? "num" : ""}`,
        "data-testid": `col-${column.id}`,
        "data-sort": active ? (current.descending ? "desc" : "asc") : null,
        title: column.kind === "attr" ? null : `${column.kind}.${column.key}`,
        onclick: sortable ? () => sortBy(column) : null,
      },
      column.kind === "attr" ? column.label : h("span", {}, h("span", { class: "col-kind" }, column.kind.slice(0, -1)), " ", column.label),
      arrow,
    );
  }

  function cell(column, run) {
    if (column.kind === "metrics") {
      const v = run.metrics[column.key];
      return h("td", { class: "num", "data-column": column.id }, v === undefined ? "" : fmtValue(v));
    }
    if (column.kind === "params" || column.kind === "tags") {
      const v = run[column.kind][column.key];
      return h("td", { "data-column": column.id }, v === undefined ? "" : v);
    }
    switch (column.id) {
      case "run_name":
        return h(
          "td",
          {},
          h("a", { href: `#/runs/${run.run_id}`, "data-testid": "run-link" }, run.run_name || run.run_id.slice(0, 8)),
        );
      case "status":
        return h("td", {}, statusBadge(run.status));
      case "start_time":
        return h("td", { class: "nowrap" }, fmtTime(run.start_time));
      case "duration":
        return h("td", { class: "nowrap" }, fmtDuration((run.end_time ?? Date.now()) - run.start_time));
      default:
        return h("td", {}, run[column.id] ?? "");
    }
  }

  function render() {
    const keys = rowKeys(state.rows);
    const cols = [...ATTRIBUTE_COLUMNS.map((c) => ({ ...c, kind: "attr" })), ...columns.columns(keys)];
    // The chooser is rebuilt with the table; it stays open while the user picks.
    const wasOpen = Boolean(chooserSlot.querySelector("details[open]"));
    const chooser = columns.chooser(keys, render);
    chooser.open = wasOpen;
    chooserSlot.replaceChildren(chooser);
    countLabel.textContent = `${state.rows.length} run${state.rows.length === 1 ? "" : "s"}${state.next ? " (more available)" : ""}`;
    more.hidden = !state.next;
    compare.disabled = state.selected.size === 0;
    compare.textContent = state.selected.size ? `Compare (${state.selected.size})` : "Compare";
    const all = h("input", {
      type: "checkbox",
      title: "select all shown runs",
      "data-testid": "select-all",
      checked: state.rows.length > 0 && state.rows.every((r) => state.selected.has(r.run_id)),
      onchange: (e) => {
        for (const r of state.rows) {
          if (e.target.checked) state.selected.add(r.run_id);
          else state.selected.delete(r.run_id);
        }
        render();
      },
    });
    const table = h(
      "table",
      { class: "grid runs", "data-testid": "runs-table" },
      h("thead", {}, h("tr", {}, h("th", { class: "check" }, all), cols.map(header))),
      h(
        "tbody",
        {},
        state.rows.map((run) =>
          h(
            "tr",
            { "data-testid": "run-row", "data-run-id": run.run_id, "data-status": run.status },
            h(
              "td",
              { class: "check" },
              h("input", {
                type: "checkbox",
                "data-testid": "run-select",
                checked: state.selected.has(run.run_id),
                onchange: (e) => {
                  if (e.target.checked) state.selected.add(run.run_id);
                  else state.selected.delete(run.run_id);
                  render();
                },
              }),
            ),
            cols.map((c) => cell(c, run)),
          ),
        ),
      ),
    );
    tableSlot.replaceChildren(
      state.rows.length === 0 ? h("p", { class: "muted", "data-testid": "no-runs" }, "No runs match.") : table,
    );
  }

  /** Live refresh: re-reads the running rows (status, latest metrics) by id. */
  async function refreshRunning() {
    const running = state.rows.filter((r) => r.status === "RUNNING").slice(0, LIVE_MAX);
    if (running.length === 0) return;
    const ids = running.map((r) => `'${r.run_id}'`).join(", ");
    const page = await getJson("/api/runs", {
      experiment_ids: experimentId,
      filter: `attributes.run_id IN (${ids})`,
      max_results: LIVE_MAX,
    });
    const fresh = new Map(page.runs.map((r) => [r.run_id, r]));
    state.rows = state.rows.map((r) => fresh.get(r.run_id) || r);
    render();
  }

  await reload(state.filter, state.order, firstPage);
  if (!error.hidden && state.rows.length === 0) {
    // A bad filter in the address: show the unfiltered runs under the message.
    const message = error.textContent;
    await reload("", state.order);
    error.textContent = message;
    error.hidden = false;
    input.value = query.get("filter") || "";
  }
  onCleanup(startPolling(refreshRunning, () => state.rows.some((r) => r.status === "RUNNING")));
}
