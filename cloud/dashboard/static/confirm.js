// The confirmation asked before a print is cancelled: a native modal <dialog>, so the
// browser traps the focus in it, closes it on Escape and gives the focus back after.

import { el } from "./dom.js";

export class CancelDialog {
  constructor(root) {
    this.text = el("p", { id: "cancel-dialog-text" });
    this.keep = el("button", { type: "submit", value: "keep", class: "button", "data-testid": "dialog-dismiss", autofocus: true }, "Keep printing");
    this.confirm = el("button", { type: "submit", value: "confirm", class: "button danger", "data-testid": "dialog-confirm" }, "Confirm cancel");
    this.dialog = el(
      "dialog",
      { id: "cancel-dialog", class: "dialog", "aria-labelledby": "cancel-dialog-title", "aria-describedby": "cancel-dialog-text" },
      el(
        "form",
        { method: "dialog" },
        el("h2", { id: "cancel-dialog-title" }, "Cancel the print?"),
        this.text,
        el("div", { class: "dialog-buttons" }, this.keep, this.confirm),
      ),
    );
    root.append(this.dialog);
    this.resolve = null;
    this.dialog.addEventListener("close", () => {
      const answer = this.dialog.returnValue === "confirm";
      if (this.resolve) this.resolve(answer);
      this.resolve = null;
    });
  }

  /** Resolves to true only when the user chose to cancel the print. */
  ask(printerName) {
    if (this.resolve) return Promise.resolve(false); // one question at a time
    this.text.textContent = `The job on ${printerName} stops now and cannot be resumed.`;
    this.dialog.returnValue = "";
    return new Promise((resolve) => {
      this.resolve = resolve;
      this.dialog.showModal();
      this.keep.focus();
    });
  }

  close() {
    if (this.dialog.open) this.dialog.close();
  }
}
