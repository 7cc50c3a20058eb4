// The Webhooks page: the organization's endpoints (GET /v1/webhooks, every page), each with
// its state, events and delivery log; for a key with `webhooks:write`, adding one (its
// signing secret shown once), editing its URL and events, enabling and disabling it,
// deleting it, and a test send (POST /v1/webhooks/{id}/test) whose answer is shown on it.
//
// Neither endpoints nor deliveries are on the live feed: the list is loaded on `refresh()`
// and after the user's own changes; open delivery logs reload then too, and a little after
// job and printer events (which endpoints may have been sent).

import { SingleFlight } from "./reload.js";
import { el, setText } from "./dom.js";
import { ConfirmDialog } from "./forms.js";
import { EndpointCard } from "./webhooks-card.js";
import { SecretDialog, WebhookDialog } from "./webhooks-form.js";

const LOGS_DELAY_MS = 2000; // the worker sends within about a second of an event

export function mount(root, ctx) {
  return new WebhooksPage(root, ctx);
}

class WebhooksPage {
  constructor(root, ctx) {
    this.ctx = ctx;
    this.canWrite = ctx.allows("webhooks:write");
    this.cards = new Map(); // webhook id → EndpointCard
    this.alive = true;
    this.loaded = false;
    this.reloads = new SingleFlight(() => this.fetch(), () => this.alive);
    this.logsTimer = 0;
    this.build(root);
    this.load();
  }

  build(root) {
    this.summary = el("p", { class: "summary", "data-testid": "summary" }, "Loading endpoints…");
    this.result = el("p", { class: "page-result", role: "status", "data-testid": "page-result" });
    this.problem = el("div", { class: "problem", role: "alert", hidden: true });
    this.list = el("ul", { class: "webhooks", "aria-label": "Endpoints", "data-testid": "webhooks" });
    this.addButton = null;
    if (this.canWrite) {
      this.addButton = el("button", { type: "button", class: "button primary", "data-testid": "add-webhook" }, "Add endpoint");
      this.addButton.addEventListener("click", () => this.form.open(null));
    }
    const page = el(
      "div",
      { class: "webhooks-page" },
      el("div", { class: "page-head" }, el("h1", { id: "page-title", tabindex: "-1" }, "Webhooks"), this.addButton),
      el(
        "p",
        { class: "hint intro" },
        "The cloud POSTs each event your endpoints subscribe to as signed JSON (Standard Webhooks), retrying failures for about 27.6 hours. Each endpoint's delivery log lists every attempt.",
      ),
      this.summary,
      this.result,
      this.problem,
      this.list,
    );
    root.append(page);
    if (this.canWrite) {
      this.form = new WebhookDialog(page, { save: (body, webhook) => this.save(body, webhook) });
      this.secret = new SecretDialog(page);
      this.confirm = new ConfirmDialog(page, "webhook-delete-dialog");
    }
  }

  // --- data -------------------------------------------------------------------------------

  refresh() {
    const loaded = this.load();
    for (const card of this.cards.values()) card.log.refreshIfOpen();
    return loaded;
  }

  load() {
    return this.reloads.request();
  }

  async fetch() {
    try {
      const webhooks = await this.ctx.fetchAll("/v1/webhooks");
      if (!this.alive) return;
      this.loaded = true;
      this.problem.hidden = true;
      this.apply(webhooks);
    } catch (error) {
      if (!this.alive || error.status === 401) return;
      const retry = el("button", { type: "button", class: "button" }, "Try again");
      retry.addEventListener("click", () => this.load());
      this.problem.replaceChildren(el("p", {}, `The endpoints could not be loaded: ${error.message}`), retry);
      this.problem.hidden = false;
      if (!this.loaded) this.summary.textContent = "No endpoints loaded.";
    }
  }

  /** Update the cards in place (oldest first, as the API lists them); drop deleted ones. */
  apply(webhooks) {
    const seen = new Set();
    let previous = null;
    for (const webhook of webhooks) {
      seen.add(webhook.id);
      let card = this.cards.get(webhook.id);
      if (card) card.update(webhook);
      else {
        card = new EndpointCard(webhook, this.ctx, { canWrite: this.canWrite, onAction: (action, c) => this.act(action, c) });
        this.cards.set(webhook.id, card);
      }
      const wanted = previous ? previous.nextSibling : this.list.firstChild;
      if (wanted !== card.root) this.list.insertBefore(card.root, wanted);
      previous = card.root;
    }
    for (const [id, card] of this.cards) {
      if (!seen.has(id)) {
        card.root.remove();
        this.cards.delete(id);
      }
    }
    this.drawSummary();
  }

  drawSummary() {
    const all = [...this.cards.values()].map((c) => c.webhook);
    if (!all.length) {
      setText(this.summary, this.canWrite ? "No endpoints yet. Add one to be told what happens in the farm." : "No endpoints yet.");
      return;
    }
    const off = all.filter((w) => !w.enabled).length;
    const failing = all.filter((w) => w.enabled && w.failing_since).length;
    const parts = [`${all.length} ${all.length === 1 ? "endpoint" : "endpoints"}`];
    if (failing) parts.push(`${failing} failing`);
    if (off) parts.push(`${off} disabled`);
    setText(this.summary, parts.join(" · "));
  }

  onLive(kind, item) {
    const type = kind === "event" && item.data ? String(item.data.type || "") : "";
    if (!type.startsWith("job.") && !type.startsWith("printer.")) return;
    if (this.logsTimer) return;
    this.logsTimer = setTimeout(() => {
      this.logsTimer = 0;
      if (!this.alive) return;
      for (const card of this.cards.values()) card.log.refreshIfOpen();
    }, LOGS_DELAY_MS);
  }

  // --- writes -----------------------------------------------------------------------------

  /** The form's request; a refusal goes back to the form, shown by its field. */
  async save(body, webhook) {
    if (webhook) {
      const saved = await this.ctx.api(`/v1/webhooks/${encodeURIComponent(webhook.id)}`, { method: "PATCH", body });
      this.updateOne(saved);
      this.cards.get(saved.id)?.say("Saved.", "ok");
      return;
    }
    const created = await this.ctx.api("/v1/webhooks", { method: "POST", body });
    const { secret, ...shown } = created;
    this.apply([...[...this.cards.values()].map((c) => c.webhook), shown]);
    this.say(`Added ${shown.url}.`);
    this.load();
    // Once the form has closed: the secret, once; then the focus on the new endpoint.
    return () =>
      this.secret.show({ url: shown.url, secret }, () => {
        const card = this.cards.get(shown.id);
        const target = card && card.buttons.get("test");
        if (target) target.focus();
      });
  }

  updateOne(webhook) {
    const card = this.cards.get(webhook.id);
    if (card) card.update(webhook);
    this.drawSummary();
  }

  async act(action, card) {
    if (card.pending) return;
    const { webhook } = card;
    if (action === "edit") {
      this.form.open(webhook);
      return;
    }
    if (action === "delete") {
      const ok = await this.confirm.ask({
        title: "Delete this endpoint?",
        text: `${webhook.url} gets no more events; its pending deliveries and its log are deleted too. This cannot be undone.`,
        yes: "Delete endpoint",
      });
      if (!ok) return;
    }
    const path = `/v1/webhooks/${encodeURIComponent(webhook.id)}`;
    card.busy(true);
    card.say(action === "test" ? "Sending a test event…" : "Sending…", "pending");
    try {
      if (action === "test") {
        card.sayTest(await this.ctx.api(`${path}/test`, { method: "POST" }));
        card.log.show();
      } else if (action === "toggle") {
        const saved = await this.ctx.api(path, { method: "PATCH", body: { enabled: !webhook.enabled } });
        this.updateOne(saved);
        card.say(saved.enabled ? "Enabled: deliveries resume, held messages first." : "Disabled: nothing is sent to it until it is enabled.", "ok");
      } else if (action === "delete") {
        await this.ctx.api(path, { method: "DELETE" });
        card.root.remove();
        this.cards.delete(webhook.id);
        this.drawSummary();
        this.say(`Deleted ${webhook.url}.`);
        this.addButton.focus(); // the card, and the button pressed, are gone
      }
    } catch (error) {
      if (error.status === 404) this.load();
      card.say(`${action === "test" ? "Test" : "That"} failed: ${error.message}`, "error");
    } finally {
      card.busy(false);
    }
  }

  say(text) {
    this.result.textContent = text;
  }

  unmount() {
    this.alive = false;
    clearTimeout(this.logsTimer);
    for (const dialog of [this.form, this.secret, this.confirm]) if (dialog) dialog.close();
  }
}
