// The Farm page: a card per printer, filtered, sorted, and kept current by the live feed.
//
// Live items only change a printer's record and mark it dirty; the dirty cards are redrawn in
// one animation frame (card.js writes only what changed). A state (a status, a job) is drawn
// in the next frame; telemetry waits up to TELEMETRY_BATCH_MS so that 100 printers, each
// sending at 1 Hz on its own clock, cost a few frames a second instead of sixty (each frame
// a layout and a paint: bench/dashboard.py). Nothing runs while the tab is hidden (no
// frames; each printer keeps only its latest values).

import { SingleFlight } from "./reload.js";
import { el, setText } from "./dom.js";
import { ACTIONS, CardView, STATUS, describe, statusInfo } from "./card.js";
import { CancelDialog } from "./confirm.js";
import { PrinterRecord, spoolsByPrinter } from "./records.js";

// Telemetry (temperatures, progress) is drawn at most this long after it arrived.
const TELEMETRY_BATCH_MS = 250;

const NO_GROUP = "__none__";
const REFETCH_DELAY_MS = 300; // coalesces a burst of events about one printer
const REFRESH_DELAY_MS = 1000; // coalesces a burst of agent items into one reload

export function mount(root, ctx) {
  return new FarmPage(root, ctx);
}

class FarmPage {
  constructor(root, ctx) {
    this.ctx = ctx;
    this.canAct = ctx.allows("printers:write");
    this.records = new Map();
    this.lookups = { jobs: new Map(), spools: new Map() };
    this.jobsWanted = new Set();
    this.dirty = new Set();
    this.layoutDirty = true;
    this.frame = 0;
    this.batch = 0; // the telemetry batch's timer
    this.refetchTimers = new Map();
    this.refreshTimer = 0;
    this.reloads = new SingleFlight(() => this.load(), () => this.alive);
    this.alive = true;
    this.loaded = false;
    const query = ctx.query();
    this.filters = {
      status: query.get("status") || "",
      group: query.get("group") || "",
      sort: query.get("sort") === "status" ? "status" : "name",
      dense: query.get("dense") === "1",
    };
    this.build(root);
    this.dialog = new CancelDialog(root);
    this.refresh();
  }

  build(root) {
    const statusOptions = [el("option", { value: "" }, "All"), ...Object.entries(STATUS).map(([value, s]) => el("option", { value }, s.label))];
    this.statusSelect = el("select", { id: "filter-status", "data-testid": "filter-status" }, ...statusOptions);
    this.groupSelect = el("select", { id: "filter-group", "data-testid": "filter-group" }, el("option", { value: "" }, "All"));
    this.sortSelect = el(
      "select",
      { id: "sort", "data-testid": "sort" },
      el("option", { value: "name" }, "Name"),
      el("option", { value: "status" }, "Status"),
    );
    this.denseBox = el("input", { type: "checkbox", id: "dense", "data-testid": "dense" });
    this.statusSelect.value = this.filters.status;
    this.filters.status = this.statusSelect.value; // an unknown status from the URL: All
    this.sortSelect.value = this.filters.sort;
    this.denseBox.checked = this.filters.dense;
    const field = (id, label, control) => el("div", { class: "field" }, el("label", { for: id }, label), control);
    this.summary = el("p", { class: "summary", id: "farm-summary", "data-testid": "summary" }, "Loading printers…");
    this.problem = el("div", { class: "problem", role: "alert", hidden: true });
    this.grid = el("section", { class: "cards", "aria-label": "Printers", "data-testid": "printers" });
    this.grid.classList.toggle("dense", this.filters.dense);
    root.append(
      el("h1", { id: "page-title", tabindex: "-1" }, "Farm"),
      this.summary,
      el(
        "form",
        { class: "filters", "aria-label": "Filter and sort printers" },
        field("filter-status", "Status", this.statusSelect),
        field("filter-group", "Group", this.groupSelect),
        field("sort", "Sort by", this.sortSelect),
        el("div", { class: "field checkbox" }, this.denseBox, el("label", { for: "dense" }, "Dense view")),
      ),
      this.problem,
      this.grid,
    );
    for (const control of [this.statusSelect, this.groupSelect, this.sortSelect, this.denseBox]) {
      control.addEventListener("change", () => this.onFilter());
    }
    root.querySelector("form.filters").addEventListener("submit", (event) => event.preventDefault());
  }

  onFilter() {
    this.filters = {
      status: this.statusSelect.value,
      group: this.groupSelect.value,
      sort: this.sortSelect.value,
      dense: this.denseBox.checked,
    };
    this.grid.classList.toggle("dense", this.filters.dense);
    this.ctx.setQuery({
      status: this.filters.status,
      group: this.filters.group,
      sort: this.filters.sort === "status" ? "status" : "",
      dense: this.filters.dense ? "1" : "",
    });
    this.layoutDirty = true;
    this.requestFrame();
  }

  // --- data -------------------------------------------------------------------------------

  /** Refetch everything; calls during a refresh run one more afterwards. */
  refresh() {
    return this.reloads.request();
  }

  async load() {
    const fetchedAt = performance.now();
    const { ctx } = this;
    try {
      const [printers, spools, jobs] = await Promise.all([
        ctx.fetchAll("/v1/printers"),
        ctx.allows("materials:read") ? ctx.fetchAll("/v1/materials") : [],
        ctx.allows("jobs:read")
          ? Promise.all(["printing", "paused", "assigned"].map((status) => ctx.fetchAll("/v1/jobs", { status })))
          : [],
      ]);
      if (!this.alive) return;
      this.problem.hidden = true;
      this.lookups.spools = spoolsByPrinter(spools);
      for (const [id, job] of this.lookups.jobs) if (job === null) this.lookups.jobs.delete(id);
      for (const job of jobs.flat()) this.lookups.jobs.set(job.id, job);
      this.applyPrinters(printers, fetchedAt);
    } catch (error) {
      if (!this.alive || error.status === 401) return;
      this.showProblem(`The printers could not be loaded: ${error.message}`);
    }
  }

  applyPrinters(printers, fetchedAt) {
    const seen = new Set();
    for (const printer of printers) {
      seen.add(printer.id);
      let record = this.records.get(printer.id);
      if (record) record.fromApi(printer, fetchedAt);
      else {
        record = new PrinterRecord(printer);
        record.card = new CardView(printer, { canAct: this.canAct, onAction: (action) => this.act(record, action) });
        this.records.set(printer.id, record);
      }
      this.mark(record);
    }
    for (const [id, record] of this.records) {
      if (!seen.has(id)) {
        record.card.root.remove();
        this.records.delete(id);
        this.dirty.delete(record);
      }
    }
    this.fillGroups();
    this.layoutDirty = true;
    this.loaded = true;
    this.requestFrame();
  }

  fillGroups() {
    const groups = new Set();
    let ungrouped = false;
    for (const record of this.records.values()) {
      if (record.printer.group) groups.add(record.printer.group);
      else ungrouped = true;
    }
    const wanted = [...groups].sort((a, b) => a.localeCompare(b));
    const key = JSON.stringify([wanted, ungrouped]);
    if (key === this.groupsKey) return;
    this.groupsKey = key;
    const current = this.filters.group;
    this.groupSelect.replaceChildren(
      el("option", { value: "" }, "All"),
      ...wanted.map((group) => el("option", { value: group }, group)),
      ungrouped && wanted.length ? el("option", { value: NO_GROUP }, "No group") : null,
    );
    if (current && !wanted.includes(current) && current !== NO_GROUP) {
      // A bookmarked group that no printer is in any more: keep it selectable, and say so.
      this.groupSelect.append(el("option", { value: current }, `${current} (no printers)`));
    }
    this.groupSelect.value = current;
  }

  showProblem(text) {
    const retry = el("button", { type: "button", class: "button" }, "Try again");
    retry.addEventListener("click", () => this.refresh());
    this.problem.replaceChildren(el("p", {}, text), retry);
    this.problem.hidden = false;
    if (!this.loaded) this.summary.textContent = "No printers loaded.";
  }

  /** The job's name, fetched once for a job this page has not seen yet. */
  wantJob(jobId) {
    if (!jobId || this.lookups.jobs.has(jobId) || this.jobsWanted.has(jobId)) return;
    if (!this.ctx.allows("jobs:read")) return;
    this.jobsWanted.add(jobId);
    this.ctx.api(`/v1/jobs/${encodeURIComponent(jobId)}`).then(
      (job) => {
        this.jobsWanted.delete(jobId);
        this.lookups.jobs.set(job.id, job);
        for (const record of this.records.values()) if (record.jobId === job.id) this.mark(record);
      },
      () => {
        // Not found, or not now: show its id, and try again at the next reload only.
        this.jobsWanted.delete(jobId);
        this.lookups.jobs.set(jobId, null);
      },
    );
  }

  refreshSoon() {
    if (this.refreshTimer) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = 0;
      if (this.alive) this.refresh();
    }, REFRESH_DELAY_MS);
  }

  /** Refetch one printer's API record soon (a job or printer event about it). */
  refetchPrinter(printerId) {
    if (this.refetchTimers.has(printerId)) return;
    const timer = setTimeout(async () => {
      this.refetchTimers.delete(printerId);
      const fetchedAt = performance.now();
      try {
        const printer = await this.ctx.api(`/v1/printers/${encodeURIComponent(printerId)}`);
        const record = this.records.get(printerId);
        if (record && this.alive) {
          record.fromApi(printer, fetchedAt);
          this.fillGroups();
          this.mark(record);
        }
      } catch (error) {
        if (error.status === 404) this.refreshSoon(); // removed meanwhile
      }
    }, REFETCH_DELAY_MS);
    this.refetchTimers.set(printerId, timer);
  }

  // --- the live feed ----------------------------------------------------------------------

  onLive(kind, item) {
    if (kind === "agent") {
      // An agent came or went: its printers' statuses changed. One reload of the lists
      // costs fewer requests than a fetch per printer.
      this.refreshSoon();
      return;
    }
    const record = this.records.get(item.printer_id);
    if (!record) {
      if (item.printer_id && this.loaded) this.refreshSoon(); // a printer added since the load
      return;
    }
    const data = item.data || {};
    if (kind === "state") record.fromState(data);
    else if (kind === "telemetry") record.fromTelemetry(data);
    else if (kind === "event") this.onEvent(record, data);
    if (kind === "telemetry") this.markSoon(record);
    else this.mark(record);
  }

  onEvent(record, event) {
    const type = String(event.type || "");
    if (type.startsWith("job.") && event.job_id) {
      this.lookups.jobs.delete(event.job_id); // its status and progress changed: fetch anew
      this.wantJob(event.job_id);
    }
    if (type.startsWith("job.") || type.startsWith("printer.")) this.refetchPrinter(record.printer.id);
  }

  // --- drawing ----------------------------------------------------------------------------

  mark(record) {
    this.dirty.add(record);
    this.requestFrame();
  }

  /** Redraw within TELEMETRY_BATCH_MS, with whatever else arrives meanwhile. */
  markSoon(record) {
    this.dirty.add(record);
    if (this.frame || this.batch || !this.alive) return;
    this.batch = setTimeout(() => {
      this.batch = 0;
      this.requestFrame();
    }, TELEMETRY_BATCH_MS);
  }

  requestFrame() {
    if (!this.frame && this.alive) this.frame = requestAnimationFrame(() => this.flush());
  }

  flush() {
    this.frame = 0;
    clearTimeout(this.batch);
    this.batch = 0;
    const now = new Date();
    let statusMoved = false;
    for (const record of this.dirty) {
      this.wantJob(record.jobId);
      if (record.card.update(describe(record, this.lookups, now))) statusMoved = true;
    }
    this.dirty.clear();
    // A new status can move a card (sorted by status) or hide it (filtered by status).
    if (statusMoved && (this.filters.status || this.filters.sort === "status")) this.layoutDirty = true;
    if (this.layoutDirty) this.layout();
    else if (statusMoved) this.drawSummary();
  }

  /** Order and filter the cards; moves only the cards whose place changed. */
  layout() {
    this.layoutDirty = false;
    const { status, group, sort } = this.filters;
    const records = [...this.records.values()];
    const byName = (a, b) => a.printer.name.localeCompare(b.printer.name, undefined, { numeric: true });
    records.sort(sort === "status" ? (a, b) => statusInfo(a.status).rank - statusInfo(b.status).rank || byName(a, b) : byName);
    const active = document.activeElement;
    let previous = null;
    for (const record of records) {
      const node = record.card.root;
      const groupOk = !group || (group === NO_GROUP ? !record.printer.group : record.printer.group === group);
      const visible = (!status || record.status === status) && groupOk;
      if (node.hidden === visible) node.hidden = !visible;
      const wantedAfter = previous ? previous.nextSibling : this.grid.firstChild;
      if (wantedAfter !== node) this.grid.insertBefore(node, wantedAfter);
      previous = node;
    }
    if (active && active !== document.activeElement && active.isConnected) active.focus({ preventScroll: true });
    this.drawSummary();
  }

  drawSummary() {
    if (!this.loaded) return;
    const counts = new Map();
    let shown = 0;
    for (const record of this.records.values()) {
      counts.set(record.status, (counts.get(record.status) || 0) + 1);
      if (!record.card.root.hidden) shown += 1;
    }
    const total = this.records.size;
    if (total === 0) {
      setText(this.summary, "No printers in this organization yet.");
      return;
    }
    const parts = Object.keys(STATUS)
      .filter((key) => counts.get(key))
      .map((key) => `${counts.get(key)} ${STATUS[key].label.toLowerCase()}`);
    const text = `${total} ${total === 1 ? "printer" : "printers"}: ${parts.join(" · ")}`;
    setText(this.summary, shown === total ? text : `${text}. Showing ${shown}.`);
  }

  // --- actions ----------------------------------------------------------------------------

  async act(record, action) {
    if (record.pending) return;
    const label = ACTIONS.find((a) => a.action === action).label;
    if (action === "cancel" && !(await this.dialog.ask(record.printer.name))) return;
    record.pending = action;
    record.result = { text: `${label}: sending…`, kind: "pending" };
    this.mark(record);
    try {
      const answer = await this.ctx.apiWithStatus(`/v1/printers/${encodeURIComponent(record.printer.id)}/actions`, {
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
      this.mark(record);
      this.refetchPrinter(record.printer.id);
    }
  }

  unmount() {
    this.alive = false;
    cancelAnimationFrame(this.frame);
    clearTimeout(this.batch);
    for (const timer of this.refetchTimers.values()) clearTimeout(timer);
    clearTimeout(this.refreshTimer);
    this.dialog.close();
  }
}
