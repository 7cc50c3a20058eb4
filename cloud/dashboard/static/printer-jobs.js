// The Printer page's job history: the last 50 jobs on the printer, newest first
// (GET /v1/jobs?printer_id=…). Reloaded by the page when a job event about the printer comes,
// on the live feed's (re)connection, and after the user's own actions.

import { el } from "./dom.js";
import { duration } from "./card.js";

export const HISTORY_SIZE = 50;

const when = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

function time(value) {
  return value ? when.format(new Date(value)) : "—";
}

function grams(job) {
  const m = job.material || {};
  const kind = [m.type, m.color].filter(Boolean).join(" ");
  const weight = m.estimated_usage === null || m.estimated_usage === undefined ? "" : `${m.estimated_usage} g`;
  return [kind, weight].filter(Boolean).join(" · ") || "—";
}

function took(job) {
  if (job.elapsed_time) return duration(job.elapsed_time);
  if (job.started_at && job.completed_at) {
    return duration((new Date(job.completed_at) - new Date(job.started_at)) / 1000);
  }
  return "—";
}

export class JobHistory {
  constructor(ctx, printerId) {
    this.ctx = ctx;
    this.printerId = printerId;
    this.summary = el("p", { class: "summary", "data-testid": "jobs-summary" }, "Loading the jobs…");
    this.body = el("tbody");
    const head = ["Job", "Status", "Started", "Completed", "Duration", "Material (estimate)"];
    this.table = el(
      "table",
      { class: "job-history", "data-testid": "job-history", hidden: true },
      el("caption", { class: "visually-hidden" }, `The last ${HISTORY_SIZE} jobs on this printer, newest first`),
      el("thead", {}, el("tr", {}, ...head.map((text) => el("th", { scope: "col" }, text)))),
      this.body,
    );
    this.root = el(
      "section",
      { class: "panel jobs", "aria-labelledby": "jobs-title" },
      el("h2", { id: "jobs-title" }, "Job history"),
      this.summary,
      el("div", { class: "table-wrap" }, this.table),
    );
  }

  async load() {
    if (!this.ctx.allows("jobs:read")) {
      this.summary.textContent = "This key may not read jobs (it lacks the jobs:read scope).";
      return;
    }
    const query = new URLSearchParams({ printer_id: this.printerId, per_page: String(HISTORY_SIZE), sort: "-created_at" });
    try {
      const answer = await this.ctx.api(`/v1/jobs?${query}`);
      this.render(answer.data, answer.pagination.total);
    } catch (error) {
      if (error.status !== 401) this.summary.textContent = `The jobs could not be loaded: ${error.message}`;
    }
  }

  render(jobs, total) {
    this.table.hidden = jobs.length === 0;
    if (!jobs.length) this.summary.textContent = "No job has run on this printer yet.";
    else if (total > jobs.length) this.summary.textContent = `The last ${jobs.length} of ${total} jobs, newest first.`;
    else this.summary.textContent = `${jobs.length} ${jobs.length === 1 ? "job" : "jobs"}, newest first.`;
    this.body.replaceChildren(
      ...jobs.map((job) => {
        const cell = (label, ...content) => el("td", { "data-label": label }, ...content);
        const reason = job.status === "failed" && job.failure_reason ? el("span", { class: "failure" }, job.failure_reason) : null;
        return el(
          "tr",
          { "data-job-id": job.id, "data-testid": "job-row" },
          el("th", { scope: "row", "data-label": "Job" }, job.name),
          cell("Status", el("span", { class: "job-status", "data-status": job.status }, job.status), reason),
          cell("Started", time(job.started_at)),
          cell("Completed", time(job.completed_at)),
          cell("Duration", took(job)),
          cell("Material (estimate)", grams(job)),
        );
      }),
    );
  }
}
