// One webhook endpoint on the Webhooks page: its URL, state, events and health, its buttons
// (for a key with `webhooks:write`), the outcome of the last action, and its delivery log.
// Built once per endpoint and updated in place, so an open log stays open across reloads.

import { el } from "./dom.js";
import { formatNumber, timeElement } from "./forms.js";
import { DeliveryLog } from "./webhooks-log.js";

// The text is the state; the colour (webhooks.css) only repeats it.
const DISABLED_BECAUSE = {
  gone: "The cloud switched it off: the receiver answered 410 Gone.",
  failing: "The cloud switched it off: every attempt failed for the whole retry schedule (about 27.6 h).",
};

/** What the endpoint's state is, in words: [key, badge, sentence or ""]. */
export function stateOf(webhook) {
  if (!webhook.enabled) {
    const why = DISABLED_BECAUSE[webhook.disabled_reason] || "Switched off: nothing is sent to it.";
    return ["disabled", "Disabled", `${why} Enable it to send the held messages.`];
  }
  if (webhook.failing_since) return ["failing", "Failing", "Its deliveries have been failing since"];
  return ["active", "Active", ""];
}

export class EndpointCard {
  /** `onAction(action, card)`: test | toggle | edit | delete. */
  constructor(webhook, ctx, { canWrite, onAction }) {
    this.webhook = webhook;
    const id = webhook.id;
    const titleId = `webhook-${id}-url`;
    this.url = el("h2", { id: titleId, class: "webhook-url" });
    this.badge = el("span", { class: "webhook-badge", "data-testid": "webhook-state" });
    this.stateLine = el("p", { class: "webhook-state-line" });
    this.events = el("ul", { class: "webhook-event-list", "aria-label": "Events subscribed" });
    this.facts = el("dl", { class: "webhook-facts" });
    this.result = el("p", { class: "action-result", role: "status", "data-testid": "action-result" });
    this.log = new DeliveryLog(id, ctx);
    this.buttons = new Map();
    let actions = null;
    if (canWrite) {
      actions = el("div", { class: "actions" });
      for (const [action, label] of [
        ["test", "Send test"],
        ["toggle", "Disable"],
        ["edit", "Edit"],
        ["delete", "Delete"],
      ]) {
        const button = el("button", { type: "button", class: "button", "data-action": action, "aria-describedby": titleId }, label);
        button.addEventListener("click", () => onAction(action, this));
        this.buttons.set(action, button);
        actions.append(button);
      }
    }
    this.root = el(
      "li",
      { class: "webhook", "data-webhook-id": id, "data-testid": "webhook", "aria-labelledby": titleId },
      el("div", { class: "webhook-head" }, this.url, this.badge),
      this.stateLine,
      this.events,
      this.facts,
      actions,
      this.result,
      this.log.root,
    );
    this.update(webhook);
  }

  update(webhook) {
    this.webhook = webhook;
    const [state, badge, sentence] = stateOf(webhook);
    this.root.dataset.state = state;
    this.url.textContent = webhook.url;
    this.badge.textContent = badge;
    this.stateLine.replaceChildren(sentence);
    if (state === "failing") this.stateLine.append(" ", timeElement(webhook.failing_since), ".");
    this.stateLine.hidden = !sentence;
    this.events.replaceChildren(...webhook.events.map((name) => el("li", {}, el("code", {}, name))));
    const fact = (term, value) => el("div", {}, el("dt", {}, term), el("dd", {}, value));
    this.facts.replaceChildren(
      fact("Created", timeElement(webhook.created_at)),
      fact("Last event delivered", webhook.last_success_at ? timeElement(webhook.last_success_at) : "Never"),
      fact("Last event failed", webhook.last_failure_at ? timeElement(webhook.last_failure_at) : "Never"),
    );
    const toggle = this.buttons.get("toggle");
    if (toggle) toggle.textContent = webhook.enabled ? "Disable" : "Enable";
  }

  /** Mark a request on its way (aria-disabled keeps the focus on the button pressed). */
  busy(on) {
    for (const button of this.buttons.values()) button.setAttribute("aria-disabled", on ? "true" : "false");
    this.pending = on;
  }

  say(text, kind) {
    this.result.textContent = text;
    this.result.dataset.kind = kind;
  }

  /** The answer of POST /v1/webhooks/{id}/test, in words. */
  sayTest(result) {
    const answer = result.status_code === null ? result.error || "no answer" : `HTTP ${result.status_code}`;
    const took = `${formatNumber(result.latency_ms)} ms`;
    if (result.success) this.say(`Test delivered: the receiver answered ${answer} in ${took}.`, "ok");
    else this.say(`Test failed: ${answer}${result.error && result.status_code !== null ? ` (${result.error})` : ""}, after ${took}.`, "error");
  }
}
