// A small SVG line chart of a printer's temperatures over the last minutes: the hotend, the
// bed and the chamber, each target as a dashed line of the same colour. Our own, in a few
// dozen lines, rather than a charting library: nothing to fetch, nothing to build.
//
// Samples are [ts, hotend, hotend_target, bed, bed_target, chamber] (Unix seconds, °C or
// null), as GET /dashboard/api/printers/{id}/temperatures answers them. The SVG's viewBox is
// the element's own size in CSS pixels (kept by a ResizeObserver), so its text is never
// stretched and a line is one pixel wide at any width. A gap of more than GAP_S between two
// samples (the printer offline, the process restarted) breaks the lines there.

import { el, svg } from "./dom.js";

const GAP_S = 15;
const HEIGHT = 220;
const PAD = { left: 44, right: 10, top: 10, bottom: 24 };

// Which column of a sample each line draws; the class gives its colour (printer.css).
export const SERIES = [
  { key: "hotend", column: 1, label: "Hotend", cls: "hotend" },
  { key: "hotend_target", column: 2, label: "Hotend target", cls: "hotend target" },
  { key: "bed", column: 3, label: "Bed", cls: "bed" },
  { key: "bed_target", column: 4, label: "Bed target", cls: "bed target" },
  { key: "chamber", column: 5, label: "Chamber", cls: "chamber" },
];


function round(value) {
  return Math.round(value * 10) / 10;
}

export class TempChart {
  constructor({ windowS = 1800, label = "Temperatures" } = {}) {
    this.windowS = windowS;
    this.samples = [];
    this.width = 600;
    this.frame = 0;
    this.title = svg("title");
    this.title.textContent = label;
    this.desc = svg("desc");
    this.grid = svg("g", { class: "temp-grid", "aria-hidden": "true" });
    this.lines = svg("g", { class: "temp-lines" });
    this.svg = svg(
      "svg",
      { class: "temp-chart", role: "img", height: HEIGHT, "data-testid": "temp-chart" },
      this.title,
      this.desc,
      this.grid,
      this.lines,
    );
    this.empty = el("p", { class: "temp-empty" }, "No temperatures recorded yet.");
    this.legend = el("ul", { class: "temp-legend" });
    this.values = new Map();
    for (const series of SERIES) {
      const value = el("span", { class: "legend-value" }, "—");
      this.values.set(series.key, value);
      this.legend.append(
        el("li", { class: `legend-item ${series.cls}` }, el("span", { class: "legend-line", "aria-hidden": "true" }), `${series.label}: `, value),
      );
    }
    this.root = el("div", { class: "temp-chart-box" }, this.svg, this.empty, this.legend);
    this.resize = new ResizeObserver((entries) => {
      const width = Math.round(entries[0].contentRect.width);
      if (width > 0 && width !== this.width) {
        this.width = width;
        this.requestDraw();
      }
    });
    this.resize.observe(this.svg);
  }

  /** Replace every sample (the history the cloud kept). */
  setSamples(samples) {
    this.samples = samples.filter((s) => Array.isArray(s) && s.length >= 6).sort((a, b) => a[0] - b[0]);
    this.requestDraw();
  }

  /** One more sample, kept only if it comes a second or more after the last one. */
  add(sample) {
    const last = this.samples[this.samples.length - 1];
    if (last && Math.floor(sample[0]) <= Math.floor(last[0])) return;
    this.samples.push(sample);
    this.requestDraw();
  }

  requestDraw() {
    if (!this.frame) this.frame = requestAnimationFrame(() => this.draw());
  }

  draw(now = Date.now() / 1000) {
    this.frame = 0;
    const start = now - this.windowS;
    while (this.samples.length && this.samples[0][0] < start) this.samples.shift();
    const shown = this.samples;
    const width = this.width;
    const plotW = width - PAD.left - PAD.right;
    const plotH = HEIGHT - PAD.top - PAD.bottom;
    let top = 50;
    for (const sample of shown) for (let i = 1; i < 6; i += 1) if (sample[i] !== null && sample[i] > top) top = sample[i];
    top = Math.ceil(top / 50) * 50;
    const x = (ts) => PAD.left + ((ts - start) / this.windowS) * plotW;
    const y = (value) => PAD.top + plotH - (value / top) * plotH;
    this.svg.setAttribute("viewBox", `0 0 ${width} ${HEIGHT}`);
    this.drawGrid(top, x, y, now);
    this.lines.replaceChildren();
    for (const series of SERIES) {
      let points = [];
      let previous = null;
      const flush = () => {
        if (points.length) this.lines.append(svg("polyline", { class: `line ${series.cls}`, "data-series": series.key, points: points.join(" ") }));
        points = [];
      };
      for (const sample of shown) {
        const value = sample[series.column];
        if (value === null || value === undefined || (previous !== null && sample[0] - previous > GAP_S)) flush();
        if (value !== null && value !== undefined) points.push(`${x(sample[0]).toFixed(1)},${y(value).toFixed(1)}`);
        previous = sample[0];
      }
      flush();
    }
    this.empty.hidden = shown.length > 0;
    this.describe(shown);
  }

  drawGrid(top, x, y, now) {
    const nodes = [];
    for (let value = 0; value <= top; value += top > 200 ? 100 : 50) {
      nodes.push(svg("line", { x1: PAD.left, x2: this.width - PAD.right, y1: y(value), y2: y(value) }));
      const label = svg("text", { x: PAD.left - 6, y: y(value) + 4, "text-anchor": "end" });
      label.textContent = value === 0 ? "0 °C" : `${value}`;
      nodes.push(label);
    }
    const minutes = this.windowS / 60;
    const step = minutes >= 20 ? 10 : 5;
    for (let ago = 0; ago <= minutes; ago += step) {
      const at = x(now - ago * 60);
      const label = svg("text", { x: at, y: HEIGHT - 6, "text-anchor": ago === 0 ? "end" : ago === minutes ? "start" : "middle" });
      label.textContent = ago === 0 ? "now" : `−${ago} min`;
      nodes.push(label);
    }
    this.grid.replaceChildren(...nodes);
  }

  /** The legend's newest values, and the same in words for a screen reader. A report
   * without a heater (Marlin's heating progress names the hotend alone) does not blank it:
   * its last value within GAP_S of the newest sample is shown. */
  describe(shown) {
    const newest = shown[shown.length - 1];
    const latest = (column) => {
      for (let i = shown.length - 1; i >= 0 && newest[0] - shown[i][0] <= GAP_S; i -= 1) {
        if (shown[i][column] !== null && shown[i][column] !== undefined) return shown[i][column];
      }
      return null;
    };
    const words = [];
    for (const series of SERIES) {
      const value = newest ? latest(series.column) : null;
      const text = value === null || value === undefined ? "—" : `${round(value)} °C`;
      const node = this.values.get(series.key);
      if (node.textContent !== text) node.textContent = text;
      if (text !== "—") words.push(`${series.label} ${text}`);
    }
    const minutes = Math.round(this.windowS / 60);
    this.desc.textContent = newest
      ? `The last ${minutes} minutes, ${shown.length} samples. Now: ${words.join(", ")}.`
      : `No temperatures recorded in the last ${minutes} minutes.`;
  }

  unmount() {
    cancelAnimationFrame(this.frame);
    this.resize.disconnect();
  }
}
