// Small SVG charts of our own, built with DOM calls (text always as text nodes): horizontal
// bars and stacked day columns. Each chart is a <figure>: a heading, the drawing (role="img",
// its figures in its label), a caption, and the same figures as a table behind a toggle, so
// nothing depends on seeing the drawing or telling its colours apart; every bar carries its
// value as text.
//
// The drawing is redrawn at the width its box has (a ResizeObserver), so text keeps its size
// from a 390 px phone to a desktop; between two redraws the viewBox scales it.

import { el, svg } from "./dom.js";

const FONT_PX = 13;
const MIN_WIDTH = 260;

let serial = 0;

function round(value) {
  return Math.round(value * 10) / 10;
}

/** The axis's top and step: 1, 2 or 5 times a power of ten, about `count` steps. */
export function niceScale(max, { count = 4, integer = false } = {}) {
  if (!(max > 0)) return { top: integer ? count : 1, step: integer ? 1 : 0.25 };
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  let step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
  if (integer) step = Math.max(1, Math.ceil(step));
  return { top: Math.ceil(max / step - 1e-9) * step, step };
}

/** A chart's frame: the figure, its drawing area, its caption and its table. */
export class ChartFigure {
  /**
   * title: the heading; caption: what the drawing shows (read aloud with it);
   * columns: the table's column headings; draw(width, data) -> <svg>; rows(data) -> table rows;
   * summary(data) -> the drawing's text alternative; empty(data) -> a sentence when nothing to draw.
   */
  constructor({ title, caption, testid, columns, draw, rows, summary, empty, legend = null }) {
    const id = `chart-${++serial}`;
    this.draw = draw;
    this.rowsOf = rows;
    this.summary = summary;
    this.emptyText = empty || (() => "");
    this.data = null;
    this.width = 0;
    this.plot = el("div", { class: "chart-plot" });
    this.empty = el("p", { class: "chart-empty", hidden: true });
    this.caption = el("figcaption", { id: `${id}-caption`, class: "chart-caption" }, caption);
    this.body = el("tbody");
    this.legend = legend ? legendOf(legend) : null;
    this.table = el(
      "table",
      { class: "chart-table" },
      el("caption", {}, title),
      el("thead", {}, el("tr", {}, ...columns.map((c, i) => el("th", { scope: "col", class: i ? "num" : null }, c)))),
      this.body,
    );
    this.root = el(
      "figure",
      { class: "chart", "data-testid": testid, "aria-labelledby": `${id}-title` },
      el("h2", { id: `${id}-title`, class: "chart-title" }, title),
      this.plot,
      this.empty,
      this.legend,
      this.caption,
      el("details", { class: "chart-data" }, el("summary", {}, "Show the figures as a table"), this.table),
    );
    this.observer = new ResizeObserver((entries) => {
      const width = Math.max(MIN_WIDTH, Math.floor(entries[0].contentRect.width));
      if (width !== this.width) {
        this.width = width;
        this.render();
      }
    });
    this.observer.observe(this.plot);
  }

  set(data) {
    this.data = data;
    this.body.replaceChildren(
      ...this.rowsOf(data).map(([head, ...cells]) =>
        el("tr", {}, el("th", { scope: "row" }, head), ...cells.map((c) => el("td", { class: "num" }, c))),
      ),
    );
    this.render();
  }

  render() {
    if (this.data === null || !this.width) return;
    const emptyText = this.emptyText(this.data);
    this.empty.textContent = emptyText;
    this.empty.hidden = !emptyText;
    if (this.legend) this.legend.hidden = Boolean(emptyText);
    if (emptyText) {
      this.plot.replaceChildren();
      return;
    }
    const drawing = this.draw(this.width, this.data);
    drawing.setAttribute("role", "img");
    drawing.setAttribute("aria-label", this.summary(this.data));
    drawing.setAttribute("aria-describedby", this.caption.id);
    this.plot.replaceChildren(drawing);
  }

  close() {
    this.observer.disconnect();
  }
}

function legendOf(entries) {
  return el(
    "ul",
    { class: "chart-legend" },
    ...entries.map(([kind, label]) => el("li", {}, el("span", { class: `legend-swatch ${kind}`, "aria-hidden": "true" }), label)),
  );
}

/**
 * Horizontal bars, one row each: its label above, the bar below with its value as text after
 * it. rows: [{label, value, text, kind}]; max: the axis's end (100 for percentages; else
 * from the data); axis: the value axis's title; format: a tick's text.
 */
export function horizontalBars(width, rows, { max = null, axis, format = String, integer = false }) {
  const left = 4;
  const right = 92; // room for the value text after the longest bar
  const rowH = 46;
  const top = 6;
  const plotW = width - left - right;
  const scale = max === null ? niceScale(Math.max(...rows.map((r) => r.value), 0), { integer }) : { top: max, step: max / 4 };
  const x = (v) => left + (plotW * Math.min(Math.max(0, v), scale.top)) / scale.top;
  const axisY = top + rows.length * rowH;
  const height = axisY + 44;
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart-svg hbars", width, height, "font-size": FONT_PX });
  const grid = svg("g", { class: "grid" });
  for (let v = 0; v <= scale.top + 1e-9; v += scale.step) {
    grid.append(
      svg("line", { x1: x(v), x2: x(v), y1: top, y2: axisY, class: v === 0 ? "axis-line" : "grid-line" }),
      svg("text", { x: x(v), y: axisY + 16, "text-anchor": v === 0 ? "start" : "middle", class: "tick" }, format(round(v))),
    );
  }
  grid.append(svg("text", { x: left + plotW / 2, y: axisY + 36, "text-anchor": "middle", class: "axis-title" }, axis));
  chart.append(grid);
  rows.forEach((row, i) => {
    const y = top + i * rowH;
    const barW = Math.max(row.value > 0 ? 2 : 0, x(row.value) - left);
    chart.append(
      svg(
        "g",
        { class: `bar-row ${row.kind || ""}`.trim() },
        svg("title", {}, `${row.label}: ${row.text}`),
        svg("text", { x: left, y: y + 14, class: "bar-label" }, row.label),
        svg("rect", { x: left, y: y + 20, width: barW, height: 16, rx: 2, class: `bar ${row.kind || ""}`.trim() }),
        svg("text", { x: left + barW + 6, y: y + 33, class: "bar-value" }, row.text),
      ),
    );
  });
  return chart;
}

/**
 * Stacked columns, one per day: series [[key, label]] stacked bottom up, each day's total as
 * text above its column when there is room. days: [{label, values: {key: n}}].
 */
export function dayColumns(width, days, series, { axis }) {
  const left = 36;
  const right = 8;
  const top = 18;
  const plotH = 150;
  const plotW = width - left - right;
  const totals = days.map((d) => series.reduce((sum, [key]) => sum + (d.values[key] || 0), 0));
  const scale = niceScale(Math.max(...totals, 0), { integer: true });
  const slot = plotW / Math.max(1, days.length);
  const barW = Math.max(2, Math.min(40, slot * 0.7));
  const y = (v) => top + plotH - (plotH * v) / scale.top;
  // A date label every `every` days, so that labels (about 40 px each) never overlap.
  const every = Math.max(1, Math.ceil(44 / slot));
  const height = top + plotH + 50;
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart-svg columns", width, height, "font-size": FONT_PX });
  const grid = svg("g", { class: "grid" });
  for (let v = 0; v <= scale.top; v += scale.step) {
    grid.append(
      svg("line", { x1: left, x2: left + plotW, y1: y(v), y2: y(v), class: v === 0 ? "axis-line" : "grid-line" }),
      svg("text", { x: left - 6, y: y(v) + 4, "text-anchor": "end", class: "tick" }, String(v)),
    );
  }
  grid.append(svg("text", { x: left + plotW / 2, y: height - 6, "text-anchor": "middle", class: "axis-title" }, axis));
  chart.append(grid);
  days.forEach((day, i) => {
    const cx = left + slot * i + slot / 2;
    const column = svg("g", { class: "day" });
    let base = 0;
    for (const [key, label] of series) {
      const value = day.values[key] || 0;
      if (value > 0) {
        column.append(
          svg(
            "rect",
            { x: cx - barW / 2, y: y(base + value), width: barW, height: y(base) - y(base + value), class: `bar ${key}` },
            svg("title", {}, `${day.label}: ${value} ${label.toLowerCase()}`),
          ),
        );
      }
      base += value;
    }
    if (totals[i] > 0 && barW >= 12) {
      column.append(svg("text", { x: cx, y: y(totals[i]) - 4, "text-anchor": "middle", class: "bar-value" }, String(totals[i])));
    }
    if (i % every === 0) {
      column.append(svg("text", { x: cx, y: top + plotH + 16, "text-anchor": "middle", class: "tick" }, day.short));
    }
    chart.append(column);
  });
  return chart;
}
