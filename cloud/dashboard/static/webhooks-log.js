// One endpoint's delivery log (GET /v1/webhooks/{id}/deliveries, newest first): a
// collapsed <details> loaded when first opened, and again on its Refresh button, after a
// test send and when the page refreshes. The live feed does not carry deliveries.

import { el } from "./dom.js";
import { formatNumber, formatTime, timeElement } from "./forms.js";

const PAGE_SIZE = 25;
const MAX_SHOWN = 100; // the API's largest page

const OUTCOMES = {
  succeeded: "Delivered",
  retrying: "Retrying",
  failed: "Failed",
};
const COLUMNS = ["Time", "Event", "Attempt", "Outcome", "Status or error", "Duration", "Next retry"];

export class DeliveryLog {
  constructor(webhookId, ctx) {
    this.webhookId = webhookId;
    this.ctx = ctx;
    this.shown = PAGE_SIZE;
    this.loading = null;
    this.again = false;
    this.loaded = false;
    this.status = el("p", { class: "log-status", role: "status", "data-testid": "log-status" });
    this.refreshButton = el("button", { type: "button", class: "button", "data-testid": "log-refresh" }, "Refresh");
    this.moreButton = el("button", { type: "button", class: "button", hidden: true }, "Show older");
    this.rows = el("tbody", {});
    this.table = el(
      "table",
      { class: "log-table", hidden: true },
      el("caption", { class: "visually-hidden" }, "Delivery attempts, newest first"),
      el("thead", {}, el("tr", {}, ...COLUMNS.map((c) => el("th", { scope: "col" }, c)))),
      this.rows,
    );
    this.root = el(
      "details",
      { class: "webhook-log", "data-testid": "delivery-log" },
      el("summary", {}, "Delivery log"),
      el("div", { class: "log-body" }, el("div", { class: "log-tools" }, this.refreshButton, this.status), this.table, this.moreButton),
    );
    this.root.addEventListener("toggle", () => {
      if (this.root.open && !this.loaded) this.load();
    });
    this.refreshButton.addEventListener("click", () => this.load());
    this.moreButton.addEventListener("click", () => {
      this.shown = Math.min(MAX_SHOWN, this.shown + PAGE_SIZE);
      this.load();
    });
  }

  /** Open the log and load it (after a test send). */
  show() {
    if (!this.root.open) this.root.open = true; // the toggle event loads it
    else this.load();
  }

  refreshIfOpen() {
    if (this.root.open) this.load();
  }

  /** Load the newest attempts; a call during a load runs one more after it. */
  load() {
    if (this.loading) {
      this.again = true;
      return this.loading;
    }
    this.refreshButton.setAttribute("aria-disabled", "true");
    if (!this.loaded) this.status.textContent = "Loading…";
    this.loading = this.fetch().finally(() => {
      this.loading = null;
      this.refreshButton.setAttribute("aria-disabled", "false");
      if (this.again) {
        this.again = false;
        this.load();
      }
    });
    return this.loading;
  }

  async fetch() {
    const query = new URLSearchParams({ per_page: String(this.shown) });
    try {
      const answer = await this.ctx.api(`/v1/webhooks/${encodeURIComponent(this.webhookId)}/deliveries?${query}`);
      this.loaded = true;
      this.draw(answer.data, answer.pagination.total);
    } catch (error) {
      if (error.status === 401) return;
      this.status.textContent = `The log could not be loaded: ${error.message}`;
    }
  }

  draw(attempts, total) {
    this.rows.replaceChildren(...attempts.map(row));
    this.table.hidden = attempts.length === 0;
    const when = `Loaded ${formatTime(new Date().toISOString(), { seconds: true })}.`;
    if (!total) this.status.textContent = `No deliveries yet. ${when}`;
    else if (total > attempts.length) this.status.textContent = `The newest ${attempts.length} of ${total} attempts. ${when}`;
    else this.status.textContent = `${total} ${total === 1 ? "attempt" : "attempts"}. ${when}`;
    this.moreButton.hidden = !(total > attempts.length && this.shown < MAX_SHOWN);
  }
}

function row(attempt) {
  const cell = (label, ...content) => el("td", { "data-label": label }, ...content);
  const outcome =
    attempt.outcome === "test" ? (attempt.success ? "Test: delivered" : "Test: failed") : OUTCOMES[attempt.outcome] || attempt.outcome;
  const answer = attempt.status_code !== null ? `HTTP ${attempt.status_code}` : "";
  const detail = [answer, attempt.error && attempt.error !== answer ? attempt.error : ""].filter(Boolean).join(" · ") || "—";
  return el(
    "tr",
    { "data-testid": "delivery", "data-success": attempt.success ? "true" : "false", "data-event": attempt.event },
    cell("Time", timeElement(attempt.attempted_at, { seconds: true })),
    cell("Event", el("code", {}, attempt.event)),
    cell("Attempt", String(attempt.attempt)),
    cell("Outcome", el("span", { class: "log-outcome", "data-outcome": attempt.success ? "ok" : "error" }, attempt.success ? "\u2713 " : "\u2715 ", outcome)),
    cell("Status or error", detail),
    cell("Duration", attempt.latency_ms === null ? "—" : `${formatNumber(attempt.latency_ms)} ms`),
    cell("Next retry", attempt.next_retry_at ? timeElement(attempt.next_retry_at, { seconds: true }) : "—"),
  );
}
