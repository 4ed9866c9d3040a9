// Metric charts of one or many runs: a toolbar (x axis, log scale,
// smoothing) shared by one chart per metric key, each drawn from the
// server's downsampled history read (buckets = the plot's width in CSS
// pixels, so a request stays bounded whatever the series' length).

import { getJson } from "./api.js";
import { h, num } from "./dom.js";
import { LineChart, PALETTE } from "./chart.js";

const FIRST_CHART_MARK = "tracklite:first-chart";
const MAX_BUCKETS = 10000;

/** What tests and benchmarks read: each chart's last answer, by metric key. */
function debugState() {
  window.__tracklite = window.__tracklite || { charts: {} };
  return window.__tracklite;
}

class MetricPanel {
  constructor(key, runs, settings) {
    this.key = key;
    this.runs = runs;
    this.settings = settings;
    this.seq = 0;
    this.range = null;
    this.chart = new LineChart({
      xKind: settings.x,
      logY: settings.logY,
      smoothing: settings.smoothing,
      onZoom: (range) => {
        this.range = range;
        this.load();
      },
      onDraw: () => this.drawn(),
    });
    this.status = h("span", { class: "muted chart-status", "data-testid": "chart-status" });
    this.element = h(
      "section",
      { class: "panel chart-panel", "data-testid": "chart", "data-key": key, "data-points": "0" },
      h("header", { class: "chart-title" }, h("h3", {}, key), this.status),
      this.chart.element,
    );
  }

  drawn() {
    if (this.series && this.series.some((s) => s.x.length > 0)) {
      if (performance.getEntriesByName(FIRST_CHART_MARK).length === 0) performance.mark(FIRST_CHART_MARK);
      this.element.dataset.drawn = "true";
    }
  }

  async load() {
    const seq = (this.seq += 1);
    const settings = this.settings;
    let data;
    try {
      data = await getJson("/api/metric-history", {
        run_ids: this.runs.map((r) => r.run_id).join(","),
        key: this.key,
        x: settings.x,
        buckets: Math.min(MAX_BUCKETS, this.chart.plotWidth()),
        // Steps and timestamps are whole numbers; a dragged range is not.
        x_min: this.range ? Math.floor(this.range[0]) : null,
        x_max: this.range ? Math.ceil(this.range[1]) : null,
      });
    } catch (err) {
      if (seq === this.seq) this.status.textContent = `error: ${err.message}`;
      return;
    }
    if (seq !== this.seq) return; // a newer request was made meanwhile
    const names = new Map(this.runs.map((r) => [r.run_id, r.label]));
    const colors = new Map(this.runs.map((r, i) => [r.run_id, i]));
    this.series = data.series.map((s) => ({
      label: names.get(s.run_id) || s.run_id,
      colorIndex: colors.get(s.run_id),
      x: s.x.map(Number),
      y: s.y.map(num),
    }));
    const points = data.series.reduce((n, s) => n + s.x.length, 0);
    const total = data.series.reduce((n, s) => n + s.count, 0);
    const downsampled = data.series.some((s) => s.downsampled);
    this.element.dataset.points = String(points);
    this.element.dataset.count = String(total);
    const plural = (n) => `${n.toLocaleString()} point${n === 1 ? "" : "s"}`;
    this.status.textContent = downsampled ? `${plural(total)}, ${points.toLocaleString()} drawn` : plural(total);
    debugState().charts[this.key] = data;
    debugState().lastData = data;
    this.chart.setData(this.series.map((s) => ({ ...s, color: paletteColor(s.colorIndex) })));
  }

  apply(changed) {
    this.chart.setOptions({ xKind: this.settings.x, logY: this.settings.logY, smoothing: this.settings.smoothing });
    if (changed === "x") {
      this.range = null;
      this.load();
    }
  }

  destroy() {
    this.chart.destroy();
  }
}

function paletteColor(i) {
  return PALETTE[(i || 0) % PALETTE.length];
}

const SETTINGS_KEY = "tracklite.chart-settings";

function loadSettings() {
  try {
    return { x: "step", logY: false, smoothing: 0, ...JSON.parse(localStorage.getItem(SETTINGS_KEY) || "{}") };
  } catch {
    return { x: "step", logY: false, smoothing: 0 };
  }
}

/**
 * Charts of `keys` for `runs` ([{run_id, label}]), with one toolbar. The
 * caller appends `element`, then calls `load()`; `refresh()` re-reads every
 * chart (live refresh) keeping each one's zoom.
 */
export class ChartGroup {
  constructor(runs, keys) {
    this.settings = loadSettings();
    this.panels = keys.map((key) => new MetricPanel(key, runs, this.settings));
    const s = this.settings;
    const save = (changed) => {
      localStorage.setItem(SETTINGS_KEY, JSON.stringify(s));
      for (const p of this.panels) p.apply(changed);
    };
    const smoothingLabel = h("span", { class: "muted" }, s.smoothing.toFixed(2));
    this.toolbar = h(
      "div",
      { class: "toolbar chart-toolbar" },
      h(
        "label",
        {},
        "x axis ",
        h(
          "select",
          {
            "data-testid": "chart-x",
            onchange: (e) => {
              s.x = e.target.value;
              save("x");
            },
          },
          h("option", { value: "step", selected: s.x === "step" }, "step"),
          h("option", { value: "time", selected: s.x === "time" }, "time"),
        ),
      ),
      h(
        "label",
        {},
        h("input", {
          type: "checkbox",
          "data-testid": "chart-log",
          checked: s.logY,
          onchange: (e) => {
            s.logY = e.target.checked;
            save("logY");
          },
        }),
        " log y",
      ),
      h(
        "label",
        {},
        "smoothing ",
        h("input", {
          type: "range",
          min: "0",
          max: "0.99",
          step: "0.01",
          value: String(s.smoothing),
          "data-testid": "chart-smoothing",
          oninput: (e) => {
            s.smoothing = Number(e.target.value);
            smoothingLabel.textContent = s.smoothing.toFixed(2);
            save("smoothing");
          },
        }),
        " ",
        smoothingLabel,
      ),
      h("span", { class: "muted hint" }, "drag to zoom, double-click to reset"),
    );
    this.element = h(
      "div",
      { class: "chart-group" },
      this.toolbar,
      keys.length === 0
        ? h("p", { class: "muted", "data-testid": "no-metrics" }, "No metrics logged.")
        : h("div", { class: "chart-grid" }, this.panels.map((p) => p.element)),
    );
  }

  load() {
    return Promise.all(this.panels.map((p) => p.load()));
  }

  refresh() {
    return this.load();
  }

  destroy() {
    for (const p of this.panels) p.destroy();
  }
}
