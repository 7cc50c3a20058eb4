// The Webhooks page's dialogs: the endpoint form (a URL and the events it subscribes to;
// POST /v1/webhooks to add, PATCH with only what changed to edit), and the new endpoint's
// signing secret, which the API returns in the create answer only and this page shows once.

import { el } from "./dom.js";
import { FormErrors, field } from "./forms.js";

// The names POST /v1/webhooks accepts: cloud/webhooks/events.py (EVENT_NAMES, and a
// `family.*` wildcard per family); tests/dashboard/test_webhooks_page.py checks they match.
export const EVENT_FAMILIES = [
  {
    family: "job",
    label: "Jobs",
    events: ["job.created", "job.started", "job.paused", "job.resumed", "job.completed", "job.failed", "job.cancelled"],
  },
  { family: "printer", label: "Printers", events: ["printer.online", "printer.offline", "printer.error"] },
  { family: "material", label: "Materials", events: ["material.low", "material.empty"] },
  { family: "webhook", label: "Webhooks", events: ["webhook.disabled"] },
];

const checkboxId = (name) => `webhook-event-${name.replace(".*", "-all").replace(".", "-")}`;

export class WebhookDialog {
  /** `save(body, webhook)` sends the request (webhook: null to create); it may resolve to a
   * function to run once the form has closed. */
  constructor(root, { save }) {
    this.save = save;
    this.webhook = null;
    this.title = el("h2", { id: "webhook-dialog-title" });
    this.url = field("webhook-url", "URL", el("input", { type: "url", required: true, maxlength: "2048", autocomplete: "off", spellcheck: "false" }), {
      hint: "Where the cloud POSTs each event, signed. It must be reachable from the cloud.",
    });
    this.boxes = new Map(); // event name → checkbox
    this.groups = el("div", { class: "event-groups" });
    this.eventsError = el("p", { id: "webhook-events-error", class: "field-error", hidden: true });
    this.events = el(
      "fieldset",
      { class: "webhook-events", tabindex: "-1", "aria-describedby": "webhook-events-hint webhook-events-error" },
      el("legend", {}, "Events"),
      el("p", { id: "webhook-events-hint", class: "hint" }, "A family's “every” box covers its events, those added later too."),
      this.groups,
      this.eventsError,
    );
    this.general = el("p", { class: "form-error", role: "alert", hidden: true, "data-testid": "form-error" });
    this.errors = new FormErrors(this.general, { url: this.url, events: { control: this.events, error: this.eventsError } });
    this.submit = el("button", { type: "submit", class: "button primary", "data-testid": "webhook-save" }, "Save");
    const cancel = el("button", { type: "button", class: "button" }, "Cancel");
    this.form = el(
      "form",
      { class: "webhook-form", "aria-labelledby": this.title.id },
      this.title,
      this.general,
      this.url.wrap,
      this.events,
      el("div", { class: "dialog-buttons" }, cancel, this.submit),
    );
    this.dialog = el("dialog", { id: "webhook-dialog", class: "dialog form-dialog", "aria-labelledby": this.title.id }, this.form);
    root.append(this.dialog);
    cancel.addEventListener("click", () => this.close());
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
  }

  drawEvents(subscribed) {
    this.boxes.clear();
    const known = new Set(EVENT_FAMILIES.flatMap((f) => [`${f.family}.*`, ...f.events]));
    const box = (name, text) => {
      const input = el("input", { type: "checkbox", id: checkboxId(name), value: name, "data-event": name });
      input.checked = subscribed.includes(name);
      this.boxes.set(name, input);
      return el("div", { class: "field checkbox" }, input, el("label", { for: input.id }, text));
    };
    const groups = EVENT_FAMILIES.map(({ family, label, events }) =>
      el(
        "fieldset",
        { class: "event-group" },
        el("legend", {}, label),
        box(`${family}.*`, `Every ${family} event (${family}.*)`),
        ...events.map((name) => box(name, name)),
      ),
    );
    // A name this page does not know (a newer cloud's) stays subscribed unless unticked.
    const other = subscribed.filter((name) => !known.has(name));
    if (other.length) groups.push(el("fieldset", { class: "event-group" }, el("legend", {}, "Other"), ...other.map((name) => box(name, name))));
    this.groups.replaceChildren(...groups);
  }

  /** Open the form: `webhook` null to add an endpoint. */
  open(webhook) {
    this.webhook = webhook;
    this.errors.clear();
    this.title.textContent = webhook ? "Edit the endpoint" : "Add an endpoint";
    this.submit.textContent = webhook ? "Save changes" : "Add endpoint";
    this.url.control.value = webhook ? webhook.url : "";
    this.drawEvents(webhook ? webhook.events : []);
    this.dialog.showModal();
    this.url.control.focus();
  }

  chosen() {
    return [...this.boxes].filter(([, input]) => input.checked).map(([name]) => name);
  }

  /** Every field to create; only the changed ones to edit. */
  body() {
    const url = this.url.control.value.trim();
    const events = this.chosen();
    if (!this.webhook) return { url, events };
    const body = {};
    if (url !== this.webhook.url) body.url = url;
    const before = [...this.webhook.events].sort().join(" ");
    if ([...events].sort().join(" ") !== before) body.events = events;
    return body;
  }

  async send() {
    if (this.busy || !this.form.reportValidity()) return;
    const body = this.body();
    if (this.webhook && Object.keys(body).length === 0) {
      this.close();
      return;
    }
    this.busy = true;
    this.submit.setAttribute("aria-disabled", "true");
    this.errors.clear();
    try {
      const after = await this.save(body, this.webhook);
      this.close();
      if (typeof after === "function") after(); // once this dialog is gone (the secret's)
    } catch (failure) {
      if (failure.status !== 401) this.errors.show(failure);
    } finally {
      this.busy = false;
      this.submit.setAttribute("aria-disabled", "false");
    }
  }

  close() {
    if (this.dialog.open) this.dialog.close();
  }
}

/** The secret of an endpoint just created: shown once, then gone from the page. */
export class SecretDialog {
  constructor(root) {
    this.input = el("input", {
      type: "text",
      id: "webhook-secret",
      readonly: true,
      autocomplete: "off",
      spellcheck: "false",
      "aria-describedby": "webhook-secret-note",
      "data-testid": "webhook-secret",
    });
    this.copyButton = el("button", { type: "button", class: "button", "data-testid": "copy-secret" }, "Copy");
    this.copied = el("p", { class: "copy-result", role: "status", "data-testid": "copy-result" });
    this.url = el("span", { class: "webhook-url" });
    const done = el("button", { type: "submit", class: "button primary", "data-testid": "secret-done" }, "I have stored it");
    this.dialog = el(
      "dialog",
      { id: "webhook-secret-dialog", class: "dialog form-dialog", "aria-labelledby": "webhook-secret-title", "aria-describedby": "webhook-secret-note" },
      el(
        "form",
        { method: "dialog" },
        el("h2", { id: "webhook-secret-title" }, "Endpoint added: its signing secret"),
        el("p", {}, "For ", this.url),
        el(
          "p",
          { id: "webhook-secret-note", class: "secret-note" },
          el("strong", {}, "This is the only time the secret is shown: it will not be shown again. "),
          "Copy it now into your receiver's configuration; the receiver checks the webhook-signature header of every delivery with it. Lost it? Delete the endpoint and add it again, or set a new secret through the API.",
        ),
        el("label", { for: this.input.id }, "Signing secret"),
        el("div", { class: "secret-row" }, this.input, this.copyButton),
        this.copied,
        el("div", { class: "dialog-buttons" }, done),
      ),
    );
    root.append(this.dialog);
    this.copyButton.addEventListener("click", () => this.copy());
    // Closed (the button or Escape): the secret leaves the page for good.
    this.dialog.addEventListener("close", () => {
      this.input.value = "";
      this.copied.textContent = "";
      if (this.after) this.after();
      this.after = null;
    });
  }

  /** Show `created.secret`; `after` runs once the dialog is closed (to move the focus). */
  show(created, after) {
    this.input.value = created.secret;
    this.url.textContent = created.url;
    this.copied.textContent = "";
    this.after = after;
    this.dialog.showModal();
    this.input.focus();
    this.input.select();
  }

  async copy() {
    const secret = this.input.value;
    try {
      await navigator.clipboard.writeText(secret);
      this.copied.textContent = "Copied to the clipboard.";
    } catch {
      // No clipboard access (a page not served over HTTPS, or a refused permission).
      this.input.focus();
      this.input.select();
      this.copied.textContent = "The browser refused to copy. The secret is selected: copy it with Ctrl+C (⌘C).";
    }
  }

  close() {
    if (this.dialog.open) this.dialog.close();
  }
}
