// The Analytics page: the fleet's utilisation, success and material use over a period, as
// charts (chart.js) with their figures as text and tables.
//
// The period lives in the URL (`?period=24h|7d|30d`, or `?period=custom&from=…&to=…` with
// UTC dates), and so does a printer group (`&group=…`), so a report can be bookmarked. Figures come from /v1/analytics (docs/
// analytics.md): fleet, jobs and materials once, and one printer report per printer for the
// per-printer utilisation and the prints by outcome. They are loaded again on the page's
// refresh() and soon after a job ends (a live `job.completed|failed|cancelled` event).

import { el, setText } from "./dom.js";
import { ChartFigure, dayColumns, horizontalBars } from "./chart.js";

const PERIODS = {
  "24h": { label: "Last 24 hours", ms: 24 * 3600 * 1000 },
  "7d": { label: "Last 7 days", ms: 7 * 24 * 3600 * 1000 },
  "30d": { label: "Last 30 days", ms: 30 * 24 * 3600 * 1000 },
};
const DEFAULT_PERIOD = "7d";
const CUSTOM = "custom";
const DATE = /^\d{4}-\d{2}-\d{2}$/;
// A job's end reaches the database through the cloud's bridge, which reads the same agent
// message as the live feed: wait a moment so the reload sees it, and coalesce a burst.
const EVENT_RELOAD_DELAY_MS = 1500;
const ENDED = new Set(["job.completed", "job.failed", "job.cancelled"]);
const PRINTER_REQUESTS_AT_ONCE = 6;
const OUTCOMES = [
  ["completed", "Completed"],
  ["failed", "Failed"],
  ["cancelled", "Cancelled"],
];

const number = new Intl.NumberFormat("en", { maximumFractionDigits: 1 });
const money = new Intl.NumberFormat("en", { minimumFractionDigits: 2, maximumFractionDigits: 2 });

function percent(value) {
  return `${number.format(value)} %`;
}

function grams(value) {
  return `${number.format(value)} g`;
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const minutes = Math.round(s / 60);
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
}

function utc(iso) {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)}`;
}

function isoDay(date) {
  return date.toISOString().slice(0, 10);
}

export function mount(root, ctx) {
  return new AnalyticsPage(root, ctx);
}

class AnalyticsPage {
  constructor(root, ctx) {
    this.ctx = ctx;
    this.alive = true;
    this.loadSeq = 0;
    this.reloadTimer = 0;
    this.period = this.periodFromUrl(ctx.query());
    this.group = ctx.query().get("group") || ""; // only printers of this group (and their jobs)
    this.build(root);
    this.refresh();
  }

  periodFromUrl(query) {
    const { period: kind = DEFAULT_PERIOD, from = "", to = "" } = Object.fromEntries(query);
    if (kind === CUSTOM && DATE.test(from) && DATE.test(to) && from <= to) return { kind, from, to };
    return { kind: Object.hasOwn(PERIODS, kind) ? kind : DEFAULT_PERIOD, from: "", to: "" };
  }

  // --- building ---------------------------------------------------------------------------

  build(root) {
    const field = (id, label, control) => el("div", { class: "field" }, el("label", { for: id }, label), control);
    this.periodSelect = el(
      "select",
      { id: "analytics-period", "data-testid": "period" },
      ...Object.entries(PERIODS).map(([value, p]) => el("option", { value }, p.label)),
      el("option", { value: CUSTOM }, "Custom dates"),
    );
    this.fromInput = el("input", { type: "date", id: "analytics-start", "data-testid": "period-start", required: true });
    this.toInput = el("input", { type: "date", id: "analytics-end", "data-testid": "period-end", required: true });
    this.applyButton = el("button", { type: "submit", class: "button primary", "data-testid": "period-apply" }, "Show");
    this.customFields = el(
      "div",
      { class: "period-custom" },
      field("analytics-start", "From (UTC)", this.fromInput),
      field("analytics-end", "To (UTC, included)", this.toInput),
      this.applyButton,
    );
    this.groupSelect = el("select", { id: "analytics-group", "data-testid": "group" }, el("option", { value: "" }, "All printers"));
    this.groupField = field("analytics-group", "Group", this.groupSelect);
    this.groupField.hidden = true; // until the printers show groups
    this.formError = el("p", { class: "form-error", role: "alert", id: "analytics-period-error" });
    this.form = el(
      "form",
      { class: "filters period-form", "aria-label": "Choose the period" },
      field("analytics-period", "Period", this.periodSelect),
      this.groupField,
      this.customFields,
    );
    this.status = el("p", { class: "summary", role: "status", "data-testid": "analytics-period" }, "Loading the figures…");
    this.problem = el("div", { class: "problem", role: "alert", hidden: true });
    this.tiles = el("dl", { class: "analytics-tiles", "data-testid": "analytics-figures" });
    this.charts = {
      utilisation: new ChartFigure({
        title: "Utilisation",
        testid: "chart-utilisation",
        caption: "The share of the period each printer was printing (paused time included), and the fleet's as a whole.",
        columns: ["Printer", "Utilisation", "Print time", "Jobs completed"],
        draw: (width, d) => horizontalBars(width, d.rows, { max: 100, axis: "Utilisation (%)", format: (v) => `${v} %` }),
        rows: (d) => d.rows.map((r) => [r.label, r.text, duration(r.printTime), String(r.jobs)]),
        summary: (d) => `Utilisation: ${d.rows.map((r) => `${r.label} ${r.text}`).join(", ")}.`,
        empty: (d) => (d.rows.length ? "" : "No printers in this period."),
      }),
      outcomes: new ChartFigure({
        title: "Success rate",
        testid: "chart-outcomes",
        caption: "Prints that ended in the period, by outcome.",
        columns: ["Outcome", "Prints"],
        draw: (width, d) => horizontalBars(width, d.rows, { axis: d.axis, integer: true }),
        rows: (d) => d.rows.map((r) => [r.label, String(r.value)]),
        summary: (d) => `${d.axis}: ${d.rows.map((r) => `${r.value} ${r.label.toLowerCase()}`).join(", ")}.`,
        empty: (d) => (d.rows.some((r) => r.value > 0) ? "" : d.none),
      }),
      materials: new ChartFigure({
        title: "Material used",
        testid: "chart-materials",
        caption: "Filament used by the prints that ended in the period, by type and colour, in grams; the cost is estimated from the spools' price per kg.",
        columns: ["Material", "Used", "Estimated cost", "Prints"],
        draw: (width, d) => horizontalBars(width, d.rows, { axis: "Material used (g)" }),
        rows: (d) => d.rows.map((r) => [r.label, grams(r.value), money.format(r.cost), String(r.prints)]),
        summary: (d) => `Material used: ${d.rows.map((r) => `${r.label} ${r.text}`).join(", ")}.`,
        empty: (d) => (d.rows.length ? "" : "No material was used in this period."),
      }),
      days: new ChartFigure({
        title: "Jobs per day",
        testid: "chart-jobs-per-day",
        caption: "Jobs that ended each day (UTC), stacked by how they ended; the total is above each column. The table also counts the jobs created each day.",
        columns: ["Day (UTC)", "Created", "Completed", "Failed", "Cancelled"],
        legend: OUTCOMES,
        draw: (width, d) => dayColumns(width, d.days, OUTCOMES, { axis: "Jobs ended per day" }),
        rows: (d) => d.days.map((day) => [day.date, ...["created", ...OUTCOMES.map(([k]) => k)].map((k) => String(day.values[k]))]),
        summary: (d) => `Jobs ended per day: ${d.days.map((day) => `${day.date} ${day.total}`).join(", ")}.`,
        empty: (d) => (d.days.some((day) => day.total > 0) ? "" : "No jobs ended in this period."),
      }),
    };
    this.chartGrid = el("div", { class: "analytics-charts" }, ...Object.values(this.charts).map((c) => c.root));
    this.content = el("div", { class: "analytics-content" }, this.tiles, this.chartGrid);
    root.append(
      el("h1", { id: "page-title", tabindex: "-1" }, "Analytics"),
      this.form,
      this.formError,
      this.status,
      this.problem,
      this.content,
    );
    this.showPeriodControls();
    this.periodSelect.addEventListener("change", () => this.onPeriodKind());
    this.groupSelect.addEventListener("change", () => {
      this.group = this.groupSelect.value;
      this.setPeriod(this.period);
    });
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (this.periodSelect.value === CUSTOM) this.onCustomDates();
    });
  }

  showPeriodControls() {
    const { kind, from, to } = this.period;
    this.periodSelect.value = kind;
    this.customFields.hidden = kind !== CUSTOM;
    if (kind === CUSTOM) {
      this.fromInput.value = from;
      this.toInput.value = to;
    }
  }

  // --- the period ---------------------------------------------------------------------------

  onPeriodKind() {
    const kind = this.periodSelect.value;
    this.formError.textContent = "";
    if (kind === CUSTOM) {
      // Start from the last 7 days, as dates; the figures change when the user says Show.
      if (!this.fromInput.value) this.fromInput.value = isoDay(new Date(Date.now() - 6 * 864e5));
      if (!this.toInput.value) this.toInput.value = isoDay(new Date());
      this.customFields.hidden = false;
      this.fromInput.focus();
      return;
    }
    this.customFields.hidden = true;
    this.setPeriod({ kind, from: "", to: "" });
  }

  onCustomDates() {
    const from = this.fromInput.value;
    const to = this.toInput.value;
    if (!DATE.test(from) || !DATE.test(to)) {
      this.formError.textContent = "Give both dates.";
      return;
    }
    if (from > to) {
      this.formError.textContent = "The first date must not be after the last.";
      this.fromInput.focus();
      return;
    }
    this.formError.textContent = "";
    this.setPeriod({ kind: CUSTOM, from, to });
  }

  setPeriod(period) {
    this.period = period;
    const { kind, from, to } = period;
    const shown = kind === CUSTOM ? { period: kind, from, to } : { period: kind === DEFAULT_PERIOD ? "" : kind };
    this.ctx.setQuery({ ...shown, group: this.group });
    this.refresh();
  }

  /** The API's `from`/`to` for the period: a moment for the last N hours/days, else dates. */
  query() {
    const { kind, from, to } = this.period;
    if (kind === CUSTOM) return new URLSearchParams({ from, to });
    const start = new Date(Date.now() - PERIODS[kind].ms);
    return new URLSearchParams({ from: start.toISOString().replace(/\.\d+Z$/, "Z") });
  }

  // --- data -------------------------------------------------------------------------------

  refresh() {
    return this.load();
  }

  async load() {
    const seq = ++this.loadSeq;
    const { ctx } = this;
    if (!ctx.allows("analytics:read")) {
      this.status.textContent = "This API key may not read analytics (it needs the analytics:read scope).";
      this.content.hidden = true;
      return;
    }
    const query = this.query();
    const grouped = new URLSearchParams(query);
    if (this.group) grouped.set("group", this.group);
    this.status.textContent = "Loading the figures…";
    try {
      const [fleet, jobs, materials, printers] = await Promise.all([
        ctx.api(`/v1/analytics/fleet?${grouped}`),
        ctx.api(`/v1/analytics/jobs?${grouped}`),
        ctx.api(`/v1/analytics/materials?${grouped}`),
        ctx.allows("printers:read") ? ctx.fetchAll("/v1/printers") : null,
      ]);
      if (printers) this.fillGroups(printers);
      const mine = printers && printers.filter((p) => !this.group || p.group === this.group);
      const perPrinter = mine ? await this.printerReports(mine, query, seq) : null;
      if (!this.alive || seq !== this.loadSeq) return;
      this.problem.hidden = true;
      this.show({ fleet, jobs, materials, perPrinter });
    } catch (error) {
      if (!this.alive || seq !== this.loadSeq || error.status === 401) return;
      this.status.textContent = "The figures could not be loaded.";
      const retry = el("button", { type: "button", class: "button" }, "Try again");
      retry.addEventListener("click", () => this.refresh());
      this.problem.replaceChildren(el("p", {}, error.message), retry);
      this.problem.hidden = false;
    }
  }

  fillGroups(printers) {
    const groups = [...new Set(printers.map((p) => p.group).filter(Boolean))].sort((a, b) => a.localeCompare(b));
    if (this.group && !groups.includes(this.group)) groups.push(this.group); // a bookmarked one
    this.groupSelect.replaceChildren(el("option", { value: "" }, "All printers"), ...groups.map((g) => el("option", { value: g }, g)));
    this.groupSelect.value = this.group;
    this.groupField.hidden = !groups.length;
  }

  /** Each printer's report, a few requests at a time; a printer deleted meanwhile is left out. */
  async printerReports(printers, query, seq) {
    const reports = [];
    let next = 0;
    const worker = async () => {
      while (next < printers.length && this.alive && seq === this.loadSeq) {
        const printer = printers[next++];
        try {
          const report = await this.ctx.api(`/v1/analytics/printers/${encodeURIComponent(printer.id)}?${query}`);
          reports.push({ printer, metrics: report.metrics });
        } catch (error) {
          if (error.status !== 404) throw error;
        }
      }
    };
    await Promise.all(Array.from({ length: PRINTER_REQUESTS_AT_ONCE }, worker));
    return reports.sort((a, b) => a.printer.name.localeCompare(b.printer.name));
  }

  // --- showing ------------------------------------------------------------------------------

  show({ fleet, jobs, materials, perPrinter }) {
    const m = fleet.metrics;
    const label = this.period.kind === CUSTOM ? "Custom dates" : PERIODS[this.period.kind].label;
    const which = this.group ? `, the printers of group ${this.group}` : "";
    setText(this.status, `${label}${which}: ${utc(fleet.period.from)} to ${utc(fleet.period.to)} UTC.`);
    this.content.hidden = false;
    const endedJobs = jobs.data.reduce((sum, d) => sum + d.completed + d.failed + d.cancelled, 0);
    this.showTiles([
      ["utilisation", "Utilisation", percent(m.utilization_rate)],
      ["success-rate", "Success rate", percent(m.success_rate)],
      ["jobs-completed", "Jobs completed", String(m.jobs_completed)],
      ["jobs-ended", "Jobs ended", String(endedJobs)],
      ["print-time", "Print time", duration(m.total_print_time)],
      ["material", "Material used", grams(m.material_consumed)],
      ["cost", "Estimated cost", money.format(m.estimated_cost)],
      ["active-printers", "Active printers", `${m.active_printers} of ${m.total_printers}`],
      ["mean-wait", "Mean wait in the queue", duration(jobs.metrics.mean_wait)],
      ["mean-duration", "Mean job duration", duration(jobs.metrics.mean_duration)],
    ]);
    this.charts.utilisation.set({ rows: this.utilisationRows(m, perPrinter) });
    this.charts.outcomes.set(this.outcomeRows(m, jobs, perPrinter));
    this.charts.materials.set({ rows: this.materialRows(materials) });
    this.charts.days.set({ days: this.dayRows(jobs) });
  }

  showTiles(tiles) {
    this.tiles.replaceChildren(
      ...tiles.map(([id, name, value]) =>
        el("div", { class: "tile", "data-testid": `figure-${id}` }, el("dt", {}, name), el("dd", {}, value)),
      ),
    );
  }

  utilisationRows(m, perPrinter) {
    if (!m.total_printers) return [];
    const fleet = {
      label: this.group ? `Group ${this.group}` : "All printers",
      value: m.utilization_rate,
      text: percent(m.utilization_rate),
      kind: "total",
      printTime: m.total_print_time,
      jobs: m.jobs_completed,
    };
    const printers = (perPrinter || []).map(({ printer, metrics }) => ({
      label: printer.name,
      value: metrics.utilization_rate,
      text: percent(metrics.utilization_rate),
      printTime: metrics.total_print_time,
      jobs: metrics.jobs_completed,
    }));
    return [fleet, ...printers];
  }

  outcomeRows(m, jobs, perPrinter) {
    if (perPrinter) {
      // The prints behind the success rate: summed over the printers' own reports.
      const sums = { completed: 0, failed: 0, cancelled: 0, refused: 0 };
      for (const { metrics } of perPrinter) for (const key of Object.keys(sums)) sums[key] += metrics.prints[key];
      const rows = OUTCOMES.map(([kind, label]) => ({ label, value: sums[kind], text: String(sums[kind]), kind }));
      if (sums.refused) rows.push({ label: "Refused", value: sums.refused, text: String(sums.refused), kind: "refused" });
      this.charts.outcomes.caption.textContent =
        `Prints that ended in the period, by outcome. Success rate ${percent(m.success_rate)}: ` +
        "the completed share of the prints that completed or failed (cancelled ones are left out).";
      return { rows, axis: "Prints", none: "No prints ended in this period." };
    }
    // Without printers:read, the jobs that ended in the period by their final status.
    const rows = OUTCOMES.map(([kind, label]) => {
      const value = jobs.data.reduce((sum, d) => sum + d[kind], 0);
      return { label, value, text: String(value), kind };
    });
    this.charts.outcomes.caption.textContent = `Jobs that ended in the period, by final status. Success rate of the prints: ${percent(m.success_rate)}.`;
    return { rows, axis: "Jobs", none: "No jobs ended in this period." };
  }

  materialRows(materials) {
    return materials.data
      .filter((row) => row.consumed > 0)
      .map((row) => ({
        label: [row.type || "Unknown type", row.color].filter(Boolean).join(" "),
        value: row.consumed,
        text: grams(row.consumed) + (row.estimated_cost > 0 ? ` · ${money.format(row.estimated_cost)}` : ""),
        cost: row.estimated_cost,
        prints: row.prints,
        kind: "material",
      }));
  }

  dayRows(jobs) {
    return jobs.data.map((day) => ({
      date: day.date,
      label: day.date,
      short: day.date.slice(5),
      values: { created: day.created, completed: day.completed, failed: day.failed, cancelled: day.cancelled },
      total: day.completed + day.failed + day.cancelled,
    }));
  }

  // --- live ---------------------------------------------------------------------------------

  onLive(kind, item) {
    if (kind !== "event" || !ENDED.has(String((item.data || {}).type || ""))) return;
    if (this.reloadTimer) return;
    this.reloadTimer = setTimeout(() => {
      this.reloadTimer = 0;
      if (this.alive) this.refresh();
    }, EVENT_RELOAD_DELAY_MS);
  }

  unmount() {
    this.alive = false;
    clearTimeout(this.reloadTimer);
    for (const chart of Object.values(this.charts)) chart.close();
  }
}
