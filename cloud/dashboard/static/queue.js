// The Queue page: jobs by status (the status kept in the URL), queued ones in the order the
// queue runs them; a queued job's priority, cancel with a confirmation, re-queue of a failed
// or cancelled job; adding a job by dropping a G-code file, analysed before it is queued.
//
// The live feed carries no job lists, only events: a `job.*` event reloads the list shown
// and the counts, at most once a second; so do the page's own writes and `refresh()` (the
// feed (re)connected or asked to resync).

import { SingleFlight } from "./reload.js";
import { el, setText } from "./dom.js";
import { CancelJobDialog } from "./queue-dialog.js";
import * as fmt from "./queue-format.js";
import { JobTable } from "./queue-table.js";
import { UploadPanel } from "./queue-upload.js";

const LIVE_REFRESH_MS = 1000; // job events reload the list at most this often
const SETTLE_MS = 400; // and this long after the last event of a burst
const MAX_WAIT_MS = 3000; // but a steady stream of events does not put it off longer
const PAGE_SIZE = 100; // the API's largest page
const SHOWN_AT_FIRST = 100; // finished jobs can be thousands: "Show more" adds this many

export function mount(root, ctx) {
  return new QueuePage(root, ctx);
}

class QueuePage {
  constructor(root, ctx) {
    this.ctx = ctx;
    this.canRead = ctx.allows("jobs:read");
    this.canWrite = ctx.allows("jobs:write");
    const wanted = ctx.query().get("status");
    this.status = fmt.STATUSES.some((s) => s.value === wanted) ? wanted : "queued";
    this.limit = SHOWN_AT_FIRST;
    this.jobs = [];
    this.more = false;
    this.printers = new Map(); // id -> name
    this.results = new Map(); // job id -> { text, kind }: the last action's outcome
    this.pending = new Set(); // job ids with an action on its way
    this.alive = true;
    this.reloads = new SingleFlight(() => this.load(), () => this.alive);
    this.liveTimer = 0;
    this.liveAt = 0;
    this.eventAt = 0;
    this.burstAt = 0;
    this.build(root);
    this.refresh();
  }

  build(root) {
    this.summary = el("p", { class: "summary", "data-testid": "summary" }, "Loading jobs…");
    this.problem = el("div", { class: "problem", role: "alert", hidden: true });
    // The last action's outcome, also when its job has left the list shown (cancelled).
    this.announcer = el("p", { class: "action-result queue-last", role: "status", "data-testid": "last-action" });
    root.append(el("h1", { id: "page-title", tabindex: "-1" }, "Queue"));
    if (!this.canRead) {
      this.summary.textContent = "This API key cannot read jobs: it lacks the jobs:read scope.";
      root.append(this.summary);
      return;
    }
    if (this.canWrite) {
      this.upload = new UploadPanel(this.ctx, { printers: () => this.printers, onQueued: () => this.refresh() });
      root.append(this.upload.root);
    }
    this.tabs = new Map();
    const group = el("div", { class: "queue-tabs", role: "group", "aria-label": "Show jobs by status", "data-testid": "status-tabs" });
    for (const { value, label } of fmt.STATUSES) {
      const count = el("span", { class: "queue-count" });
      const tab = el("button", { type: "button", class: "queue-tab", "data-status": value, "aria-pressed": "false" }, label, " ", count);
      tab.addEventListener("click", () => this.show(value));
      this.tabs.set(value, { tab, count });
      group.append(tab);
    }
    this.table = new JobTable({
      canWrite: this.canWrite,
      onPriority: (job, priority) => this.changePriority(job, priority),
      onCancel: (job) => this.cancel(job),
      onRequeue: (job) => this.requeue(job),
    });
    this.moreButton = el("button", { type: "button", class: "button", hidden: true, "data-testid": "show-more" }, "Show more");
    this.moreButton.addEventListener("click", () => {
      this.limit += SHOWN_AT_FIRST;
      this.refresh();
    });
    root.append(
      el(
        "section",
        { class: "queue-jobs", "aria-labelledby": "queue-jobs-title" },
        el("h2", { id: "queue-jobs-title" }, "Jobs"),
        this.summary,
        group,
        this.announcer,
        this.problem,
        this.table.root,
        this.moreButton,
      ),
    );
    this.dialog = new CancelJobDialog(root);
    this.markTab();
  }

  show(status) {
    if (status === this.status) return;
    this.status = status;
    this.limit = SHOWN_AT_FIRST;
    this.ctx.setQuery({ status: status === "queued" ? "" : status });
    this.markTab();
    this.jobs = [];
    this.more = false;
    this.draw({ loading: true });
    setText(this.summary, `Loading ${fmt.statusLabel(status).toLowerCase()} jobs…`);
    this.refresh();
  }

  markTab() {
    for (const [value, { tab }] of this.tabs) tab.setAttribute("aria-pressed", value === this.status ? "true" : "false");
  }

  // --- data -------------------------------------------------------------------------------

  /** Reload the list shown, the counts and the printers' names; a call while one runs
   * runs one more afterwards. */
  refresh() {
    if (!this.canRead) return Promise.resolve();
    return this.reloads.request();
  }

  async load() {
    const status = this.status;
    const { ctx } = this;
    try {
      const [list, counts, printers] = await Promise.all([
        this.fetchSome(status, this.limit),
        Promise.all(fmt.STATUSES.map((s) => ctx.api(`/v1/jobs?${new URLSearchParams({ status: s.value, per_page: "1", fields: "id" })}`))),
        ctx.allows("printers:read") ? ctx.fetchAll("/v1/printers") : [],
      ]);
      if (!this.alive || status !== this.status) return;
      this.problem.hidden = true;
      this.printers = new Map(printers.map((p) => [p.id, p.name]));
      this.counts = new Map(fmt.STATUSES.map((s, i) => [s.value, counts[i].pagination.total]));
      this.jobs = list.jobs;
      this.more = list.more;
      this.draw();
    } catch (error) {
      if (!this.alive || error.status === 401) return;
      this.showProblem(`The jobs could not be loaded: ${error.message}`);
    }
  }

  /** The first `limit` jobs of a status, in that status's order. */
  async fetchSome(status, limit) {
    const sort = fmt.STATUSES.find((s) => s.value === status).sort;
    const jobs = [];
    for (let page = 1; jobs.length < limit; page += 1) {
      const query = new URLSearchParams({ status, sort, page: String(page), per_page: String(PAGE_SIZE) });
      const answer = await this.ctx.api(`/v1/jobs?${query}`);
      jobs.push(...answer.data);
      if (page >= (answer.pagination.total_pages || 0)) return { jobs, more: false };
    }
    return { jobs: jobs.slice(0, limit), more: true };
  }

  draw({ loading = false } = {}) {
    this.table.render(this.jobs, this.status, { printers: this.printers, results: this.results, pending: this.pending, loading });
    this.moreButton.hidden = !this.more;
    if (!this.counts) return;
    for (const [value, { count }] of this.tabs) setText(count, String(this.counts.get(value) || 0));
    const total = this.counts.get(this.status) || 0;
    const label = fmt.statusLabel(this.status).toLowerCase();
    let text = `${total} ${label} ${total === 1 ? "job" : "jobs"}`;
    if (this.status === "queued" && total) text += ", in the order the queue starts them";
    if (this.jobs.length < total) text += `; showing the first ${this.jobs.length}`;
    setText(this.summary, `${text}.`);
  }

  showProblem(text) {
    const retry = el("button", { type: "button", class: "button" }, "Try again");
    retry.addEventListener("click", () => this.refresh());
    this.problem.replaceChildren(el("p", {}, text), retry);
    this.problem.hidden = false;
  }

  // --- the live feed ----------------------------------------------------------------------

  onLive(kind, item) {
    if (kind !== "event" || !this.canRead) return;
    const type = String((item.data && item.data.type) || "");
    if (!type.startsWith("job.")) return;
    this.eventAt = performance.now();
    if (this.liveTimer) return;
    this.burstAt = this.eventAt;
    this.reloadSoon();
  }

  /** One reload for a burst of job events: a while after the last one (the cloud's bridge
   * records an event as the page hears it, so a reload at once could read the job from
   * before it), and at most one a second. */
  reloadSoon() {
    const now = performance.now();
    const due = Math.max(this.eventAt + SETTLE_MS, this.liveAt + LIVE_REFRESH_MS);
    this.liveTimer = setTimeout(() => {
      this.liveTimer = 0;
      if (!this.alive) return;
      const at = performance.now();
      if (at < this.eventAt + SETTLE_MS && at < this.burstAt + MAX_WAIT_MS) {
        this.reloadSoon(); // more events came meanwhile
        return;
      }
      this.liveAt = performance.now();
      this.refresh();
    }, Math.max(0, due - now));
  }

  // --- actions ----------------------------------------------------------------------------

  /** Run a write for `job`, show its outcome in the job's row (and say it), then reload. */
  async act(job, label, write, done) {
    if (this.pending.has(job.id)) return;
    this.pending.add(job.id);
    this.results.set(job.id, { text: `${label}: sending…`, kind: "pending" });
    this.draw();
    let result;
    try {
      result = { text: done(await write()), kind: "ok" };
    } catch (error) {
      result = { text: `${label} failed: ${error.message}`, kind: "error" };
    }
    this.pending.delete(job.id);
    if (!this.alive) return;
    this.results.set(job.id, result);
    this.announcer.textContent = `“${job.name}”: ${result.text}`;
    this.announcer.dataset.kind = result.kind;
    this.draw();
    this.refresh();
  }

  changePriority(job, priority) {
    const url = `/v1/jobs/${encodeURIComponent(job.id)}`;
    return this.act(
      job,
      "Priority",
      () => this.ctx.api(url, { method: "PATCH", body: { priority } }),
      (changed) => `Priority: now ${fmt.priorityLabel(changed.priority).toLowerCase()}.`,
    );
  }

  /** Cancel through the job's `cancel` action, not DELETE: the job stays in the history
   * (cloud/api/jobs.py), queued or on a printer alike. */
  async cancel(job) {
    if (this.pending.has(job.id) || !(await this.dialog.ask(job))) return;
    const url = `/v1/jobs/${encodeURIComponent(job.id)}/actions`;
    return this.act(
      job,
      "Cancel",
      () => this.ctx.api(url, { method: "POST", body: { action: "cancel" } }),
      () => "Cancelled.",
    );
  }

  /** The API has no re-queue: a new job from the same stored file (its `file_url`, which
   * the API reuses without fetching it), with the same name, priority, material, copies
   * and tags. The old job stays as it was. */
  requeue(job) {
    const body = { file_url: job.file_url, name: job.name, priority: job.priority, copies: job.copies || 1 };
    const material = job.material || {};
    if (material.type) body.material = material.color ? { type: material.type, color: material.color } : material.type;
    else if (material.color) body.material_color = material.color;
    if (job.tags && job.tags.length) body.tags = job.tags;
    return this.act(
      job,
      "Re-queue",
      () => this.ctx.api("/v1/jobs", { method: "POST", body }),
      (created) => `Queued again as a new job (${created.id}).`,
    );
  }

  unmount() {
    this.alive = false;
    clearTimeout(this.liveTimer);
    if (this.dialog) this.dialog.close();
    if (this.upload) this.upload.close();
  }
}
