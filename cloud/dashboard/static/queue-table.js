// The Queue page's list of jobs: a table on a wide screen, a stack of cards on a phone
// (queue.css). A row is built once per version of its job; rows whose job did not change
// are kept as they are, so a refresh never closes an open priority list or drops the focus.

import { el } from "./dom.js";
import * as fmt from "./queue-format.js";

const COLUMNS = ["Job", "Priority", "Material", "Copies", "Printer", "Est. time", "Filament", "Created"];

export class JobTable {
  /**
   * @param {object} options
   *   canWrite         show the priority lists and the buttons (jobs:write)
   *   onPriority(job, priority), onCancel(job), onRequeue(job)
   */
  constructor({ canWrite, onPriority, onCancel, onRequeue }) {
    this.canWrite = canWrite;
    this.handlers = { onPriority, onCancel, onRequeue };
    this.rows = new Map(); // job id -> { tr, key }
    const headers = [...COLUMNS, ...(canWrite ? ["Actions"] : [])];
    this.body = el("tbody", { role: "rowgroup" });
    this.table = el(
      "table",
      { class: "queue-table", role: "table", "aria-label": "Jobs", "data-testid": "jobs" },
      el("thead", { role: "rowgroup" }, el("tr", { role: "row" }, ...headers.map((h) => el("th", { scope: "col", role: "columnheader" }, h)))),
      this.body,
    );
    this.empty = el("p", { class: "queue-empty", "data-testid": "queue-empty", hidden: true });
    this.root = el("div", { class: "queue-list" }, this.table, this.empty);
  }

  /** Show `jobs` in this order. `view` holds what else a row shows: printer names, the
   * last action's outcome per job, and the jobs with an action on its way. */
  render(jobs, status, view) {
    const active = document.activeElement;
    const focusedRow = active && active.closest ? active.closest("tr[data-job-id]") : null;
    const focusedAction = focusedRow && this.body.contains(focusedRow) ? active.dataset.action : null;
    const seen = new Set();
    let previous = null;
    for (const job of jobs) {
      seen.add(job.id);
      const printerName = job.printer_id ? view.printers.get(job.printer_id) || job.printer_id : "";
      const result = view.results.get(job.id) || null;
      const pending = view.pending.has(job.id);
      const key = JSON.stringify([job, printerName, result, pending]);
      let row = this.rows.get(job.id);
      if (!row || row.key !== key) {
        const tr = this.buildRow(job, printerName, result, pending);
        if (row) row.tr.replaceWith(tr);
        row = { tr, key };
        this.rows.set(job.id, row);
        if (focusedRow && focusedRow.dataset.jobId === job.id && focusedAction) {
          const again = tr.querySelector(`[data-action="${focusedAction}"]`);
          if (again) queueMicrotask(() => again.focus({ preventScroll: true }));
        }
      }
      const wanted = previous ? previous.nextSibling : this.body.firstChild;
      if (wanted !== row.tr) this.body.insertBefore(row.tr, wanted);
      previous = row.tr;
    }
    for (const [id, row] of this.rows) {
      if (!seen.has(id)) {
        row.tr.remove();
        this.rows.delete(id);
      }
    }
    this.table.hidden = jobs.length === 0;
    this.empty.hidden = jobs.length !== 0;
    const label = fmt.statusLabel(status).toLowerCase();
    this.empty.textContent = view.loading ? `Loading ${label} jobs…` : `No ${label} jobs.`;
  }

  buildRow(job, printerName, result, pending) {
    const cell = (label, ...content) => el("td", { role: "cell", "data-label": label }, ...content);
    const cells = [
      cell("Job", ...this.nameParts(job)),
      cell("Priority", this.priorityControl(job, pending)),
      cell("Material", fmt.material(job.material && job.material.type, job.material && job.material.color)),
      cell("Copies", fmt.copies(job)),
      cell("Printer", this.printer(job, printerName)),
      cell("Est. time", fmt.time(job.estimated_duration)),
      cell("Filament", fmt.grams(job.material ? job.material.estimated_usage : null)),
      cell("Created", fmt.when(job.created_at)),
    ];
    if (this.canWrite) cells.push(cell("Actions", this.actions(job, pending, result)));
    return el(
      "tr",
      { role: "row", "data-job-id": job.id, "data-status": job.status, "data-testid": "job-row" },
      ...cells,
    );
  }

  nameParts(job) {
    const parts = [el("span", { class: "queue-job-name", "data-testid": "job-name" }, job.name)];
    if (job.status === "printing" || job.status === "paused") {
      const pct = job.progress === null || job.progress === undefined ? null : Math.round(job.progress);
      if (pct !== null) parts.push(el("span", { class: "queue-note" }, `${fmt.statusLabel(job.status)} · ${pct} %`));
    }
    if (job.failure_reason) parts.push(el("span", { class: "queue-note is-error" }, job.failure_reason));
    return parts;
  }

  priorityControl(job, pending) {
    if (!this.canWrite || job.status !== "queued") return fmt.priorityLabel(job.priority);
    const select = el(
      "select",
      { "aria-label": `Priority of ${job.name}`, "data-action": "priority", "aria-disabled": pending ? "true" : "false" },
      ...fmt.PRIORITIES.map((p) => el("option", { value: p.value }, p.label)),
    );
    select.value = job.priority;
    select.addEventListener("change", () => {
      if (pending) {
        select.value = job.priority;
        return;
      }
      this.handlers.onPriority(job, select.value);
    });
    return select;
  }

  printer(job, printerName) {
    if (!job.printer_id) return job.status === "queued" ? "Any matching" : "—";
    const link = el("a", { href: `/printers/${encodeURIComponent(job.printer_id)}` }, printerName);
    // A queued job that names a printer waits for that one (it is pinned).
    return job.status === "queued" ? el("span", {}, link, " (pinned)") : link;
  }

  actions(job, pending, result) {
    const box = el("div", { class: "queue-actions" });
    const button = (action, label, onClick) => {
      // aria-disabled, not disabled: a disabled button would drop the keyboard focus.
      const made = el("button", { type: "button", class: "button", "data-action": action, "aria-disabled": pending ? "true" : "false" }, label);
      made.addEventListener("click", () => pending || onClick(job));
      box.append(made);
    };
    if (!fmt.FINAL.has(job.status)) button("cancel", "Cancel", this.handlers.onCancel);
    if (job.status === "failed" || job.status === "cancelled") button("requeue", "Re-queue", this.handlers.onRequeue);
    const note = el("p", { class: "action-result", "aria-live": "polite", "data-testid": "action-result" });
    if (result) {
      note.textContent = result.text;
      note.dataset.kind = result.kind;
    }
    return el("div", {}, box, note);
  }
}
