// Form pieces the Materials and Webhooks pages share: a labelled field with a place for its
// own error, the API's validation error put by the field it names (`param` of the error
// envelope, cloud/errors.py) or above the form, a yes/no question in a native modal
// <dialog> (as confirm.js does for Cancel), and how times are written.

import { el } from "./dom.js";

/** A labelled control with a hint and an error line, both tied to it by aria-describedby. */
export function field(id, label, control, { hint = "", className = "" } = {}) {
  control.id = id;
  const error = el("p", { id: `${id}-error`, class: "field-error", hidden: true });
  const hintLine = hint ? el("p", { id: `${id}-hint`, class: "hint" }, hint) : null;
  control.setAttribute("aria-describedby", [hintLine ? hintLine.id : "", error.id].filter(Boolean).join(" "));
  const wrap = el("div", { class: `field ${className}`.trim() }, el("label", { for: id }, label), control, hintLine, error);
  return { wrap, control, error };
}

/** Where a form shows what the API refused: by the field the API named, else above it. */
export class FormErrors {
  /** `general`: the line above the form; `fields`: param name → {control, error}. */
  constructor(general, fields = {}) {
    this.general = general;
    this.fields = fields;
  }

  clear() {
    this.general.textContent = "";
    this.general.hidden = true;
    for (const { control, error } of Object.values(this.fields)) {
      error.textContent = "";
      error.hidden = true;
      control.removeAttribute("aria-invalid");
    }
  }

  /** Show one error: by its field when the API named a field of this form, and focus it. */
  show(failure) {
    this.clear();
    const message = failure.message || String(failure);
    const target = failure.param && this.fields[failure.param];
    if (target) {
      target.error.textContent = message;
      target.error.hidden = false;
      target.control.setAttribute("aria-invalid", "true");
      target.control.focus();
      return;
    }
    this.general.textContent = message;
    this.general.hidden = false;
  }
}

/** A modal yes/no question; Escape or the first button answers no. */
export class ConfirmDialog {
  constructor(root, id) {
    this.title = el("h2", { id: `${id}-title` });
    this.text = el("p", { id: `${id}-text` });
    this.keep = el("button", { type: "submit", value: "keep", class: "button", "data-testid": "dialog-dismiss" });
    this.confirm = el("button", { type: "submit", value: "confirm", class: "button danger", "data-testid": "dialog-confirm" });
    this.dialog = el(
      "dialog",
      { id, class: "dialog", "data-testid": id, "aria-labelledby": this.title.id, "aria-describedby": this.text.id },
      el("form", { method: "dialog" }, this.title, this.text, el("div", { class: "dialog-buttons" }, this.keep, this.confirm)),
    );
    root.append(this.dialog);
    this.resolve = null;
    this.dialog.addEventListener("close", () => {
      if (this.resolve) this.resolve(this.dialog.returnValue === "confirm");
      this.resolve = null;
    });
  }

  /** Resolves to true only when the user chose `yes`. */
  ask({ title, text, yes, no = "Keep it" }) {
    if (this.resolve) return Promise.resolve(false); // one question at a time
    this.title.textContent = title;
    this.text.textContent = text;
    this.confirm.textContent = yes;
    this.keep.textContent = no;
    this.dialog.returnValue = "";
    return new Promise((resolve) => {
      this.resolve = resolve;
      this.dialog.showModal();
      this.keep.focus();
    });
  }

  /** Ask `question`; once confirmed, run `act()` with `button` disabled. A failure is said
   * in `result` after `failed` and the button given back; after a 401 the shell signs out. */
  async confirmThen(question, { button, result, failed }, act) {
    if (!(await this.ask(question))) return;
    button.disabled = true;
    result.textContent = "";
    try {
      await act();
    } catch (error) {
      if (error.status === 401) return;
      button.disabled = false;
      result.textContent = `${failed}: ${error.message}`;
    }
  }

  close() {
    if (this.dialog.open) this.dialog.close();
  }
}

const DATE_TIME = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const DATE_TIME_S = new Intl.DateTimeFormat(undefined, { dateStyle: "short", timeStyle: "medium" });

/** An API time (ISO 8601) as the reader's local date and time; `seconds` for a log. */
export function formatTime(iso, { seconds = false } = {}) {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return (seconds ? DATE_TIME_S : DATE_TIME).format(date);
}

/** A <time> element: the local time as text, the API's value in `datetime`. */
export function timeElement(iso, options) {
  return el("time", { datetime: iso }, formatTime(iso, options));
}

/** A number as the page writes it: up to `digits` decimals, no trailing zeros. */
export function formatNumber(value, digits = 1) {
  return Number(value).toLocaleString(undefined, { maximumFractionDigits: digits });
}
