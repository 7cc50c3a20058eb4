// Pieces the Settings page's sections share: a labelled field, a time as text, a line that
// tells how an action went, and the box that shows a secret once (a new API key, an
// invitation's link) with a copy button. (The yes/no dialog is forms.js's ConfirmDialog.)

import { el } from "./dom.js";

export function field(id, label, control, hint = null) {
  return el(
    "div",
    { class: "field" },
    el("label", { for: id }, label),
    control,
    hint ? el("p", { class: "hint", id: `${id}-hint` }, hint) : null,
  );
}

/** A table cell that names its column, shown beside the value where rows become cards. */
export function cell(label, ...children) {
  return el("td", { "data-label": label }, ...children);
}

/** A time as the reader's local date and time; "—" for none. */
export function when(iso) {
  if (!iso) return "—";
  return new Date(iso).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
}

/** A line beside a form: "ok" in green, "error" in red (and announced), or empty. */
export class ResultLine {
  constructor(testid) {
    this.root = el("p", { class: "settings-result", role: "status", "aria-live": "polite", "data-testid": testid });
  }

  ok(text) {
    this.root.dataset.kind = "ok";
    this.root.textContent = text;
  }

  error(text) {
    this.root.dataset.kind = "error";
    this.root.textContent = text;
  }

  clear() {
    delete this.root.dataset.kind;
    this.root.textContent = "";
  }
}

/**
 * The box a secret is shown in, once: a read-only field to select it, a copy button, and a
 * sentence saying it is not shown again. `show` fills it; `hide` empties it for good.
 */
export class OnceBox {
  constructor({ testid, title, label }) {
    const id = `${testid}-value`;
    this.title = el("h3", { class: "once-title" }, title);
    this.text = el("p", { class: "once-text" });
    this.value = el("input", {
      id,
      type: "text",
      readonly: true,
      class: "once-value",
      "data-testid": testid,
      autocomplete: "off",
      spellcheck: "false",
    });
    this.copy = el("button", { type: "button", class: "button", "data-testid": `${testid}-copy` }, "Copy");
    this.done = el("button", { type: "button", class: "button secondary" }, "Hide it");
    this.copied = el("p", { class: "once-copied", role: "status" });
    this.root = el(
      "div",
      { class: "once-box", hidden: true, role: "region", "aria-label": title },
      this.title,
      this.text,
      el("div", { class: "once-row" }, el("label", { for: id, class: "visually-hidden" }, label), this.value, this.copy),
      this.copied,
      el("div", { class: "once-actions" }, this.done),
    );
    this.copy.addEventListener("click", () => this.toClipboard());
    this.value.addEventListener("focus", () => this.value.select());
    this.done.addEventListener("click", () => this.hide());
  }

  show(secret, sentence) {
    this.value.value = secret;
    this.text.textContent = sentence;
    this.copied.textContent = "";
    this.root.hidden = false;
    this.value.focus();
  }

  hide() {
    this.value.value = "";
    this.root.hidden = true;
  }

  async toClipboard() {
    this.value.select();
    try {
      await navigator.clipboard.writeText(this.value.value);
      this.copied.textContent = "Copied to the clipboard.";
    } catch {
      this.copied.textContent = "The browser did not allow copying: the text is selected, copy it with Ctrl+C (⌘C on a Mac).";
    }
  }
}
