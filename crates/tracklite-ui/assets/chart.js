// Our canvas line chart: several series overlaid, nice-tick axes, step or
// time x axis, linear or log y, EMA smoothing (raw line faint behind), a
// hover tooltip with each series' nearest value, drag-to-zoom on x
// (double-click resets), sharp on high-density screens. No dependencies.

import { h, fmtTime, fmtValue } from "./dom.js";
import { niceTicks, fmtTick, fmtLogTick, logTicks, timeTicks, fmtTimeTick } from "./ticks.js";

export const PALETTE = [
  "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
  "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
];

const MARGIN = { left: 60, right: 14, top: 10, bottom: 26 };
const DRAG_MIN_PX = 5;

/**
 * Exponential moving average with TensorBoard's debiasing (the first values
 * are not pulled towards 0). Non-finite values pass through and do not
 * enter the average. `weight` in [0, 1): 0 is no smoothing.
 */
export function ema(ys, weight) {
  const out = new Float64Array(ys.length);
  let last = 0;
  let n = 0;
  for (let i = 0; i < ys.length; i += 1) {
    const y = ys[i];
    if (!Number.isFinite(y)) {
      out[i] = y;
      continue;
    }
    last = last * weight + (1 - weight) * y;
    n += 1;
    out[i] = weight > 0 ? last / (1 - weight ** n) : y;
  }
  return out;
}

/** Index of the x in the ascending array `xs` nearest to `x`. */
export function nearestIndex(xs, x) {
  let lo = 0;
  let hi = xs.length - 1;
  if (hi < 0) return -1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  if (lo > 0 && Math.abs(xs[lo - 1] - x) <= Math.abs(xs[lo] - x)) return lo - 1;
  return lo;
}

export class LineChart {
  /**
   * options: xKind "step" | "time", logY, smoothing (0..0.99), xLabel,
   * onZoom(range | null) called after a drag (range = [x0, x1]) or a reset.
   */
  constructor(options = {}) {
    this.options = { xKind: "step", logY: false, smoothing: 0, ...options };
    this.series = [];
    this.zoom = null; // [x0, x1] when zoomed in
    this.hoverPx = null;
    this.drag = null;
    this.canvas = h("canvas", { class: "chart-canvas", "data-testid": "chart-canvas" });
    this.tooltip = h("div", { class: "chart-tooltip", hidden: true });
    this.legend = h("div", { class: "chart-legend", "data-testid": "chart-legend" });
    this.element = h(
      "div",
      { class: "chart" },
      h("div", { class: "chart-plot" }, this.canvas, this.tooltip),
      this.legend,
    );
    this.listen();
    this.resizer = new ResizeObserver(() => this.draw());
    this.resizer.observe(this.canvas);
  }

  /** series: [{label, color, x: number[], y: number[]}] with x ascending. */
  setData(series) {
    this.series = series.map((s, i) => ({
      color: PALETTE[i % PALETTE.length],
      ...s,
      x: Float64Array.from(s.x),
      y: Float64Array.from(s.y),
    }));
    this.smooth();
    this.renderLegend();
    this.draw();
  }

  setOptions(options) {
    const smoothingChanged = options.smoothing !== undefined && options.smoothing !== this.options.smoothing;
    if (options.xKind && options.xKind !== this.options.xKind) this.zoom = null;
    Object.assign(this.options, options);
    if (smoothingChanged) this.smooth();
    this.draw();
  }

  /** The plot's width in CSS pixels (what a downsampled read should ask for). */
  plotWidth() {
    const width = this.canvas.clientWidth || 600;
    return Math.max(50, Math.round(width - MARGIN.left - MARGIN.right));
  }

  destroy() {
    this.resizer.disconnect();
  }

  smooth() {
    const w = this.options.smoothing;
    for (const s of this.series) s.smoothed = w > 0 ? ema(s.y, w) : null;
  }

  renderLegend() {
    this.legend.replaceChildren(
      ...this.series.map((s) =>
        h(
          "span",
          { class: "legend-item", title: s.label },
          h("span", { class: "legend-swatch", style: `background:${s.color}` }),
          s.label,
        ),
      ),
    );
  }

  // Geometry ------------------------------------------------------------

  xDomain() {
    if (this.zoom) return this.zoom;
    let lo = Infinity;
    let hi = -Infinity;
    for (const s of this.series) {
      if (s.x.length === 0) continue;
      lo = Math.min(lo, s.x[0]);
      hi = Math.max(hi, s.x[s.x.length - 1]);
    }
    if (!Number.isFinite(lo)) return [0, 1];
    // One x value: a step either side, or half a minute on a time axis.
    const pad = this.options.xKind === "time" ? 30000 : 1;
    if (lo === hi) return [lo - pad, hi + pad];
    return [lo, hi];
  }

  /** The y range of the visible points, in axis space (log10 on a log axis). */
  yDomain([x0, x1]) {
    const logY = this.options.logY;
    let lo = Infinity;
    let hi = -Infinity;
    for (const s of this.series) {
      for (let i = 0; i < s.x.length; i += 1) {
        if (s.x[i] < x0 || s.x[i] > x1) continue;
        const y = s.y[i];
        if (!Number.isFinite(y) || (logY && y <= 0)) continue;
        const v = logY ? Math.log10(y) : y;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
    if (!Number.isFinite(lo)) return logY ? [0, 1] : [0, 1];
    if (lo === hi) return [lo - (Math.abs(lo) || 1) * 0.1, hi + (Math.abs(hi) || 1) * 0.1];
    const pad = (hi - lo) * 0.05;
    return [lo - pad, hi + pad];
  }

  // Drawing -------------------------------------------------------------

  draw() {
    const canvas = this.canvas;
    const cssW = canvas.clientWidth;
    const cssH = canvas.clientHeight;
    if (cssW === 0 || cssH === 0) return;
    const dpr = window.devicePixelRatio || 1;
    if (canvas.width !== Math.round(cssW * dpr) || canvas.height !== Math.round(cssH * dpr)) {
      canvas.width = Math.round(cssW * dpr);
      canvas.height = Math.round(cssH * dpr);
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, cssW, cssH);
    const style = getComputedStyle(canvas);
    const ink = style.getPropertyValue("--chart-ink").trim() || "#555";
    const grid = style.getPropertyValue("--chart-grid").trim() || "#e5e5e5";
    const plot = {
      left: MARGIN.left,
      top: MARGIN.top,
      width: cssW - MARGIN.left - MARGIN.right,
      height: cssH - MARGIN.top - MARGIN.bottom,
    };
    const xDomain = this.xDomain();
    const yDomain = this.yDomain(xDomain);
    const sx = (x) => plot.left + ((x - xDomain[0]) / (xDomain[1] - xDomain[0])) * plot.width;
    const sy = (v) => plot.top + plot.height - ((v - yDomain[0]) / (yDomain[1] - yDomain[0])) * plot.height;
    this.geometry = { plot, xDomain, sx };

    this.drawAxes(ctx, plot, xDomain, yDomain, sx, sy, ink, grid);
    ctx.save();
    ctx.beginPath();
    ctx.rect(plot.left, plot.top, plot.width, plot.height);
    ctx.clip();
    const toAxis = this.options.logY ? (y) => (y > 0 ? Math.log10(y) : NaN) : (y) => y;
    for (const s of this.series) {
      if (s.smoothed) {
        this.drawLine(ctx, s.x, s.y, s.color, 0.25, sx, sy, toAxis);
        this.drawLine(ctx, s.x, s.smoothed, s.color, 1, sx, sy, toAxis);
      } else {
        this.drawLine(ctx, s.x, s.y, s.color, 1, sx, sy, toAxis);
      }
    }
    this.drawOverlay(ctx, plot);
    ctx.restore();
    this.updateTooltip();
    if (this.options.onDraw) this.options.onDraw();
  }

  /** Redraws at the next frame; mouse moves faster than the screen refreshes. */
  requestDraw() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = null;
      this.draw();
    });
  }

  drawAxes(ctx, plot, xDomain, yDomain, sx, sy, ink, grid) {
    ctx.font = "11px system-ui, sans-serif";
    ctx.lineWidth = 1;
    ctx.strokeStyle = grid;
    ctx.fillStyle = ink;
    // y: grid lines and labels.
    const logY = this.options.logY;
    const yTicks = logY ? logTicks(yDomain[0], yDomain[1]) : niceTicks(yDomain[0], yDomain[1]);
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    for (const t of yTicks) {
      const py = Math.round(sy(logY ? Math.log10(t) : t)) + 0.5;
      if (py < plot.top - 1 || py > plot.top + plot.height + 1) continue;
      ctx.beginPath();
      ctx.moveTo(plot.left, py);
      ctx.lineTo(plot.left + plot.width, py);
      ctx.stroke();
      ctx.fillText(logY ? fmtLogTick(t) : fmtTick(t, yTicks), plot.left - 6, py);
    }
    // x: ticks and labels.
    const time = this.options.xKind === "time";
    const xTicks = time ? timeTicks(xDomain[0], xDomain[1]) : niceTicks(xDomain[0], xDomain[1]);
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    for (const t of xTicks) {
      const px = Math.round(sx(t)) + 0.5;
      if (px < plot.left - 1 || px > plot.left + plot.width + 1) continue;
      ctx.beginPath();
      ctx.moveTo(px, plot.top);
      ctx.lineTo(px, plot.top + plot.height);
      ctx.stroke();
      const text = time ? fmtTimeTick(t, xTicks) : fmtTick(t, xTicks);
      // Labels at the edges stay inside the canvas.
      const half = ctx.measureText(text).width / 2;
      const x = Math.min(Math.max(px, half + 1), plot.left + plot.width + MARGIN.right - half - 1);
      ctx.fillText(text, x, plot.top + plot.height + 6);
    }
    ctx.strokeStyle = ink;
    ctx.strokeRect(plot.left + 0.5, plot.top + 0.5, plot.width, plot.height);
  }

  /** One polyline; a non-finite value (or y <= 0 on a log axis) breaks it. */
  drawLine(ctx, xs, ys, color, alpha, sx, sy, toAxis) {
    ctx.globalAlpha = alpha;
    ctx.strokeStyle = color;
    ctx.fillStyle = color;
    ctx.lineWidth = 1.5;
    ctx.lineJoin = "round";
    ctx.beginPath();
    let pen = false;
    let drawn = 0;
    let lone = null;
    for (let i = 0; i < xs.length; i += 1) {
      const v = toAxis(ys[i]);
      if (!Number.isFinite(v)) {
        pen = false;
        continue;
      }
      const px = sx(xs[i]);
      const py = sy(v);
      if (pen) ctx.lineTo(px, py);
      else ctx.moveTo(px, py);
      pen = true;
      drawn += 1;
      lone = [px, py];
    }
    ctx.stroke();
    if (drawn === 1 && lone) {
      // A single point has no line: a dot shows it.
      ctx.beginPath();
      ctx.arc(lone[0], lone[1], 3, 0, 2 * Math.PI);
      ctx.fill();
    }
    ctx.globalAlpha = 1;
  }

  drawOverlay(ctx, plot) {
    if (this.drag && Math.abs(this.drag.to - this.drag.from) >= 1) {
      const x = Math.min(this.drag.from, this.drag.to);
      ctx.fillStyle = "rgba(80, 120, 200, 0.15)";
      ctx.fillRect(x, plot.top, Math.abs(this.drag.to - this.drag.from), plot.height);
    }
    if (this.hoverPx !== null && !this.drag) {
      ctx.strokeStyle = "rgba(128, 128, 128, 0.7)";
      ctx.beginPath();
      ctx.moveTo(this.hoverPx + 0.5, plot.top);
      ctx.lineTo(this.hoverPx + 0.5, plot.top + plot.height);
      ctx.stroke();
    }
  }

  // Interaction ---------------------------------------------------------

  pixelToX(px) {
    const { plot, xDomain } = this.geometry;
    return xDomain[0] + ((px - plot.left) / plot.width) * (xDomain[1] - xDomain[0]);
  }

  localX(event) {
    return event.clientX - this.canvas.getBoundingClientRect().left;
  }

  listen() {
    const c = this.canvas;
    c.addEventListener("mousemove", (e) => {
      if (!this.geometry) return;
      const { plot } = this.geometry;
      const px = Math.max(plot.left, Math.min(plot.left + plot.width, this.localX(e)));
      if (this.drag) this.drag.to = px;
      this.hoverPx = px;
      this.requestDraw();
    });
    c.addEventListener("mouseleave", () => {
      this.hoverPx = null;
      this.requestDraw();
    });
    c.addEventListener("mousedown", (e) => {
      if (!this.geometry || e.button !== 0) return;
      const px = this.localX(e);
      const { plot } = this.geometry;
      if (px < plot.left || px > plot.left + plot.width) return;
      this.drag = { from: px, to: px };
      e.preventDefault();
    });
    window.addEventListener("mouseup", () => {
      if (!this.drag) return;
      const { from, to } = this.drag;
      this.drag = null;
      if (Math.abs(to - from) >= DRAG_MIN_PX) {
        const a = this.pixelToX(Math.min(from, to));
        const b = this.pixelToX(Math.max(from, to));
        this.zoomTo([a, b]);
      } else {
        this.draw();
      }
    });
    c.addEventListener("dblclick", () => this.zoomTo(null));
  }

  /** Shows [x0, x1] (null: everything) and tells the owner, who may re-read that range. */
  zoomTo(range) {
    this.zoom = range;
    this.draw();
    if (this.options.onZoom) this.options.onZoom(range);
  }

  updateTooltip() {
    const tip = this.tooltip;
    if (this.hoverPx === null || this.drag || this.series.length === 0) {
      tip.hidden = true;
      return;
    }
    const x = this.pixelToX(this.hoverPx);
    const time = this.options.xKind === "time";
    const rows = [];
    let shownX = null;
    for (const s of this.series) {
      const i = nearestIndex(s.x, x);
      if (i < 0) continue;
      const value = s.smoothed ? s.smoothed[i] : s.y[i];
      if (shownX === null || Math.abs(s.x[i] - x) < Math.abs(shownX - x)) shownX = s.x[i];
      rows.push(
        h(
          "div",
          { class: "tip-row" },
          h("span", { class: "legend-swatch", style: `background:${s.color}` }),
          `${s.label}: ${fmtValue(value)}`,
          h("span", { class: "muted" }, ` @ ${time ? fmtTime(s.x[i]) : `step ${s.x[i]}`}`),
        ),
      );
    }
    if (rows.length === 0) {
      tip.hidden = true;
      return;
    }
    tip.replaceChildren(...rows);
    tip.hidden = false;
    const width = this.canvas.clientWidth;
    const left = this.hoverPx + 12;
    tip.style.left = `${left + tip.offsetWidth > width ? Math.max(0, this.hoverPx - tip.offsetWidth - 12) : left}px`;
    tip.style.top = `${MARGIN.top + 4}px`;
  }
}
