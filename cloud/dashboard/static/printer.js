// The Printer page (/printers/{id}): the printer's status and details kept current by the
// live feed, a chart of its temperatures over the last 30 minutes, its job history, the
// Farm card's actions, and for admin keys a G-code console.
//
// What the page knows of the printer is a PrinterRecord (records.js), overlaid by the live
// items about it exactly as on the Farm; card.js `describe` turns it into the strings shown.
// The chart starts from the history the cloud kept (the browser cannot know what came
// before the page opened) and then takes each state and telemetry item as a new point.

import { SingleFlight } from "./reload.js";
import { el, setText } from "./dom.js";
import { ACTIONS, describe } from "./card.js";
import { CancelDialog } from "./confirm.js";
import { PrinterRecord } from "./records.js";
import { TempChart } from "./tempchart.js";
import { JobHistory } from "./printer-jobs.js";
import { GcodeConsole } from "./printer-console.js";

const CHART_MINUTES = 30;
const REFETCH_DELAY_MS = 300; // coalesces a burst of events about the printer

export function mount(root, ctx) {
  return new PrinterPage(root, ctx);
}

function temperature(actual, target) {
  if (actual === null || actual === undefined) return "—";
  const now = `${Math.round(actual)}`;
  if (target === null || target === undefined) return `${now} °C`;
  if (target === 0) return `${now} °C (off)`;
  return `${now} / ${Math.round(target)} °C`;
}

/** A chart point from a state's or telemetry's temperatures, at the browser's time. */
function sampleOf(temps) {
  const t = temps || {};
  const values = [t.hotend, t.hotend_target, t.bed, t.bed_target, t.chamber].map((v) => (v === undefined ? null : v));
  return values.every((v) => v === null) ? null : [Date.now() / 1000, ...values];
}

function materialItem(type, color, detail) {
  const swatch = el("span", { class: "swatch", "aria-hidden": "true" });
  // Set through the CSSOM: the page's CSP forbids style attributes, not this.
  if (color && CSS.supports("color", color)) swatch.style.backgroundColor = color;
  else swatch.classList.add("unknown");
  return el("li", { class: "material" }, swatch, [type, color, detail].filter(Boolean).join(" · "));
}

class PrinterPage {
  constructor(root, ctx) {
    this.ctx = ctx;
    this.id = ctx.params[0];
    this.canAct = ctx.allows("printers:write");
    this.record = null;
    this.lookups = { jobs: new Map(), spools: new Map() };
    this.jobsWanted = new Set();
    this.firmware = null;
    this.agent = null;
    this.last = {};
    this.frame = 0;
    this.timers = new Map();
    this.reloads = new SingleFlight(() => this.load(), () => this.alive);
    this.alive = true;
    this.build(root);
    this.dialog = new CancelDialog(root);
    this.refresh();
  }

  // --- building ---------------------------------------------------------------------------

  build(root) {
    const t = (tag, cls, ...kids) => el(tag, { class: cls }, ...kids);
    this.title = el("h1", { id: "page-title", tabindex: "-1" }, "Printer");
    this.problem = el("div", { class: "problem", role: "alert", hidden: true });

    this.glyph = el("span", { class: "status-glyph", "aria-hidden": "true" });
    this.statusText = t("span", "status-text");
    this.jobName = t("p", "job-name");
    this.progress = el("progress", { max: "100", "aria-labelledby": "printer-progress" });
    this.progressText = el("span", { class: "progress-text", id: "printer-progress" });
    this.progressRow = t("div", "progress-row", this.progress, this.progressText);
    this.eta = t("p", "eta");
    this.temps = {
      hotend: el("dd", { "data-testid": "temp-hotend" }),
      bed: el("dd", { "data-testid": "temp-bed" }),
      chamber: el("dd", { "data-testid": "temp-chamber" }),
    };
    this.chamberRow = t("div", "temp", el("dt", {}, "Chamber"), this.temps.chamber);
    this.message = el("p", { class: "message", "data-testid": "message" });
    this.result = el("p", { class: "action-result", "aria-live": "polite", "data-testid": "action-result" });
    this.buttons = new Map();
    const actions = t("div", "actions");
    if (this.canAct) {
      for (const { action, label } of ACTIONS) {
        const button = el("button", { type: "button", class: "button", "data-action": action, hidden: true }, label);
        button.addEventListener("click", () => this.act(action));
        this.buttons.set(action, button);
        actions.append(button);
      }
    }
    this.statusPanel = el(
      "section",
      { class: "card panel status-panel", "aria-labelledby": "status-title", "data-testid": "printer-status" },
      el(
        "header",
        { class: "card-head" },
        el("h2", { id: "status-title" }, "Status"),
        el("p", { class: "status", "data-testid": "status" }, this.glyph, " ", this.statusText),
      ),
      el("div", { class: "card-job" }, this.jobName, this.progressRow, this.eta),
      el(
        "dl",
        { class: "temps" },
        t("div", "temp", el("dt", {}, "Hotend"), this.temps.hotend),
        t("div", "temp", el("dt", {}, "Bed"), this.temps.bed),
        this.chamberRow,
      ),
      this.message,
      this.canAct ? actions : null,
      this.result,
    );

    this.details = {};
    const row = (key, label) => {
      this.details[key] = el("dd", { "data-testid": `detail-${key}` });
      return t("div", "detail", el("dt", {}, label), this.details[key]);
    };
    this.reported = el("ul", { class: "materials", "data-testid": "reported-materials" });
    this.assigned = el("ul", { class: "materials", "data-testid": "assigned-spools" });
    const detailsPanel = el(
      "section",
      { class: "panel details-panel", "aria-labelledby": "details-title", "data-testid": "printer-details" },
      el("h2", { id: "details-title" }, "Details"),
      el(
        "dl",
        { class: "details" },
        row("model", "Model"),
        row("firmware", "Firmware"),
        row("connection", "Connection"),
        row("group", "Group"),
        row("tags", "Tags"),
        row("agent", "Agent"),
        t("div", "detail", el("dt", {}, "Loaded (reported by the printer)"), el("dd", {}, this.reported)),
        t("div", "detail", el("dt", {}, "Spools assigned"), el("dd", {}, this.assigned)),
      ),
    );

    this.chart = new TempChart({ windowS: CHART_MINUTES * 60, label: `Temperatures over the last ${CHART_MINUTES} minutes` });
    const chartPanel = el(
      "section",
      { class: "panel chart-panel", "aria-labelledby": "chart-title" },
      el("h2", { id: "chart-title" }, `Temperatures, last ${CHART_MINUTES} minutes`),
      this.chart.root,
    );
    this.jobs = new JobHistory(this.ctx, this.id);
    this.console = this.ctx.allows("admin") ? new GcodeConsole(this.ctx, this.id) : null;

    this.content = el(
      "div",
      { class: "printer-page", hidden: true },
      el("div", { class: "printer-top" }, this.statusPanel, detailsPanel),
      chartPanel,
      this.jobs.root,
      this.console ? this.console.root : null,
    );
    root.append(
      el("p", { class: "printer-back" }, el("a", { href: "/farm" }, "← Farm")),
      this.title,
      this.problem,
      this.content,
    );
  }

  // --- data -------------------------------------------------------------------------------

  /** Refetch everything; calls during a refresh run one more afterwards. */
  refresh() {
    return this.reloads.request();
  }

  async load() {
    const { ctx } = this;
    const fetchedAt = performance.now();
    let printer;
    try {
      printer = await ctx.api(`/v1/printers/${encodeURIComponent(this.id)}`);
    } catch (error) {
      if (!this.alive || error.status === 401) return;
      if (error.status === 404) this.showProblem("There is no printer with this id in your organization.", false);
      else this.showProblem(`The printer could not be loaded: ${error.message}`, true);
      return;
    }
    if (!this.alive) return;
    this.problem.hidden = true;
    if (this.record) this.record.fromApi(printer, fetchedAt);
    else this.record = new PrinterRecord(printer);
    if (this.firmware === null) this.firmware = printer.firmware;
    this.content.hidden = false;
    this.mark();
    await Promise.all([this.loadSpools(), this.loadTemperatures(), this.loadAgent(), this.jobs.load()]);
  }

  async loadSpools() {
    if (!this.ctx.allows("materials:read")) return;
    try {
      const spools = await this.ctx.fetchAll("/v1/materials", { printer_id: this.id });
      if (!this.alive) return;
      this.lookups.spools = new Map([[this.id, spools.filter((s) => s.status !== "archived")]]);
      this.mark();
    } catch {
      // The spools are a detail: the page works without them until the next reload.
    }
  }

  async loadTemperatures() {
    try {
      const url = `/dashboard/api/printers/${encodeURIComponent(this.id)}/temperatures?minutes=${CHART_MINUTES}`;
      const answer = await this.ctx.api(url);
      if (this.alive) this.chart.setSamples(answer.samples);
    } catch {
      if (this.alive) this.chart.setSamples([]); // live points still come
    }
  }

  async loadAgent() {
    const agentId = this.record && this.record.printer.agent_id;
    if (!agentId || !this.ctx.allows("agents:read") || (this.agent && this.agent.id === agentId)) return;
    try {
      this.agent = await this.ctx.api(`/v1/agents/${encodeURIComponent(agentId)}`);
      this.mark();
    } catch {
      this.agent = null; // its id is shown instead
    }
  }

  /** The current job's name, fetched once for a job the page has not seen. */
  wantJob(jobId) {
    if (!jobId || this.lookups.jobs.has(jobId) || this.jobsWanted.has(jobId)) return;
    if (!this.ctx.allows("jobs:read")) return;
    this.jobsWanted.add(jobId);
    this.ctx.api(`/v1/jobs/${encodeURIComponent(jobId)}`).then(
      (job) => {
        this.jobsWanted.delete(jobId);
        this.lookups.jobs.set(job.id, job);
        this.mark();
      },
      () => {
        this.jobsWanted.delete(jobId);
        this.lookups.jobs.set(jobId, null);
      },
    );
  }

  /** Run `work` once, REFETCH_DELAY_MS after the last call with this name. */
  soon(name, work) {
    if (this.timers.has(name)) return;
    this.timers.set(
      name,
      setTimeout(() => {
        this.timers.delete(name);
        if (this.alive) work();
      }, REFETCH_DELAY_MS),
    );
  }

  refetchPrinter() {
    this.soon("printer", async () => {
      const fetchedAt = performance.now();
      try {
        const printer = await this.ctx.api(`/v1/printers/${encodeURIComponent(this.id)}`);
        if (!this.alive || !this.record) return;
        this.record.fromApi(printer, fetchedAt);
        this.mark();
        this.loadAgent();
      } catch (error) {
        if (error.status === 404) this.refresh(); // removed meanwhile: say so
      }
    });
  }

  showProblem(text, retryable) {
    const parts = [el("p", {}, text)];
    if (retryable) {
      const retry = el("button", { type: "button", class: "button" }, "Try again");
      retry.addEventListener("click", () => this.refresh());
      parts.push(retry);
    } else {
      parts.push(el("a", { href: "/farm" }, "Back to the Farm"));
      this.content.hidden = true;
    }
    this.problem.replaceChildren(...parts);
    this.problem.hidden = false;
  }

  // --- the live feed ----------------------------------------------------------------------

  onLive(kind, item) {
    if (!this.record) return;
    if (kind === "agent") {
      if (item.agent_id === this.record.printer.agent_id) this.refetchPrinter();
      return;
    }
    if (item.printer_id !== this.id) return;
    const data = item.data || {};
    if (kind === "state") {
      this.record.fromState(data);
      if (data.firmware) this.firmware = data.firmware;
      this.addPoint(data.temperatures);
    } else if (kind === "telemetry") {
      this.record.fromTelemetry(data);
      this.addPoint(data.temperatures);
    } else if (kind === "event") {
      const type = String(data.type || "");
      if (type.startsWith("job.")) {
        if (data.job_id) this.lookups.jobs.delete(data.job_id); // its status changed
        this.soon("jobs", () => this.jobs.load());
      }
      if (type.startsWith("job.") || type.startsWith("printer.")) this.refetchPrinter();
    }
    this.mark();
  }

  addPoint(temps) {
    const sample = sampleOf(temps);
    if (sample) this.chart.add(sample);
  }

  // --- drawing ----------------------------------------------------------------------------

  mark() {
    if (!this.frame && this.alive) this.frame = requestAnimationFrame(() => this.draw());
  }

  draw() {
    this.frame = 0;
    const record = this.record;
    if (!record) return;
    this.wantJob(record.jobId);
    const shown = describe(record, this.lookups);
    const last = this.last;
    const changed = (key) => last[key] !== shown[key];
    const printer = record.printer;
    setText(this.title, printer.name);
    const pageTitle = `${printer.name} — Printer — AutoPrintFarm`;
    if (document.title !== pageTitle) document.title = pageTitle;
    if (changed("status")) this.statusPanel.dataset.status = shown.status;
    setText(this.statusText, shown.statusLabel);
    setText(this.glyph, shown.glyph);
    setText(this.jobName, shown.jobText);
    this.progressRow.hidden = shown.progress === null;
    if (shown.progress !== null && changed("progress")) {
      this.progress.value = shown.progress;
      this.progressText.textContent = `${shown.progress} %`;
    }
    setText(this.eta, shown.eta);
    this.eta.hidden = !shown.eta;
    setText(this.temps.hotend, shown.hotend);
    setText(this.temps.bed, shown.bed);
    const chamber = record.temps.chamber;
    this.chamberRow.hidden = chamber === null || chamber === undefined;
    setText(this.temps.chamber, temperature(chamber, record.temps.chamber_target));
    setText(this.message, shown.message);
    this.message.hidden = !shown.message;
    this.message.classList.toggle("is-error", shown.messageIsError);
    if (changed("actions") || changed("pending")) this.showActions(shown.actions, shown.pending);
    setText(this.result, shown.result);
    this.result.hidden = !shown.result;
    this.result.dataset.kind = shown.resultKind;
    this.drawDetails(printer, record);
    this.last = shown;
  }

  drawDetails(printer, record) {
    const d = this.details;
    setText(d.model, printer.model || "—");
    setText(d.firmware, this.firmware || "—");
    // The connection's kind and address; a key, if it has one, is never returned by the API.
    setText(d.connection, `${printer.connection_type} · ${printer.connection_url}`);
    setText(d.group, printer.group || "—");
    setText(d.tags, printer.tags && printer.tags.length ? printer.tags.join(", ") : "—");
    const agent = this.agent && this.agent.id === printer.agent_id ? this.agent : null;
    const agentText = !printer.agent_id ? "None (the cloud reaches the printer)" : agent ? `${agent.name} (${agent.state})` : printer.agent_id;
    setText(d.agent, agentText);
    const reportedKey = JSON.stringify(record.materials);
    if (reportedKey !== this.reportedKey) {
      this.reportedKey = reportedKey;
      this.reported.replaceChildren(
        ...(record.materials.length
          ? record.materials.map((m) =>
              materialItem(`${m.slot}: ${m.type || "empty"}`, m.color, m.remaining_pct === null || m.remaining_pct === undefined ? null : `${Math.round(m.remaining_pct)} % left`),
            )
          : [el("li", { class: "material none" }, "Nothing reported")]),
      );
    }
    const spools = this.lookups.spools.get(this.id) || [];
    const spoolsKey = JSON.stringify(spools.map((s) => [s.id, s.type, s.color, s.remaining_weight, s.spool_weight]));
    if (spoolsKey !== this.spoolsKey) {
      this.spoolsKey = spoolsKey;
      this.assigned.replaceChildren(
        ...(spools.length
          ? spools.map((s) => materialItem(s.brand ? `${s.type} (${s.brand})` : s.type, s.color, `${Math.round(s.remaining_weight)} of ${Math.round(s.spool_weight)} g left`))
          : [el("li", { class: "material none" }, this.ctx.allows("materials:read") ? "No spool assigned" : "Not shown to this key")]),
      );
    }
  }

  showActions(actions, pending) {
    if (!this.buttons.size) return;
    const wanted = new Set(actions ? actions.split(" ") : []);
    const focused = [...this.buttons.values()].find((b) => b === document.activeElement);
    for (const [action, button] of this.buttons) {
      button.hidden = !wanted.has(action);
      // aria-disabled, not disabled: a disabled button would drop the keyboard focus.
      button.setAttribute("aria-disabled", pending ? "true" : "false");
    }
    if (focused && focused.hidden) {
      const next = [...this.buttons.values()].find((b) => !b.hidden);
      (next || this.title).focus({ preventScroll: true });
    }
  }

  // --- actions ----------------------------------------------------------------------------

  async act(action) {
    const record = this.record;
    if (!record || record.pending) return;
    const label = ACTIONS.find((a) => a.action === action).label;
    if (action === "cancel" && !(await this.dialog.ask(record.printer.name))) return;
    record.pending = action;
    record.result = { text: `${label}: sending…`, kind: "pending" };
    this.mark();
    try {
      const answer = await this.ctx.apiWithStatus(`/v1/printers/${encodeURIComponent(this.id)}/actions`, {
        method: "POST",
        body: { action },
      });
      const done = answer.body && answer.body.status === "ok";
      record.result = { text: done ? `${label}: done.` : `${label}: sent, waiting for the printer.`, kind: "ok" };
    } catch (error) {
      record.result = { text: `${label} failed: ${error.message}`, kind: "error" };
    }
    record.pending = null;
    if (this.alive) {
      this.mark();
      this.refetchPrinter();
      this.soon("jobs", () => this.jobs.load());
    }
  }

  unmount() {
    this.alive = false;
    cancelAnimationFrame(this.frame);
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.chart.unmount();
    if (this.console) this.console.unmount();
    this.dialog.close();
  }
}
