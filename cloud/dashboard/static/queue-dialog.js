// The confirmation asked before a job is cancelled, as confirm.js asks before a print is:
// a native modal <dialog> (the browser traps the focus, Escape keeps the job, the focus goes
// back to the button pressed).

import { el } from "./dom.js";

export class CancelJobDialog {
  constructor(root) {
    this.text = el("p", { id: "cancel-job-text" });
    this.keep = el("button", { type: "submit", value: "keep", class: "button", "data-testid": "dialog-dismiss", autofocus: true }, "Keep the job");
    this.confirm = el("button", { type: "submit", value: "confirm", class: "button danger", "data-testid": "dialog-confirm" }, "Cancel the job");
    this.dialog = el(
      "dialog",
      { class: "dialog", "aria-labelledby": "cancel-job-title", "aria-describedby": "cancel-job-text" },
      el(
        "form",
        { method: "dialog" },
        el("h2", { id: "cancel-job-title" }, "Cancel the job?"),
        this.text,
        el("div", { class: "dialog-buttons" }, this.keep, this.confirm),
      ),
    );
    root.append(this.dialog);
    this.resolve = null;
    this.dialog.addEventListener("close", () => {
      if (this.resolve) this.resolve(this.dialog.returnValue === "confirm");
      this.resolve = null;
    });
  }

  /** Resolves to true only when the user chose to cancel the job. */
  ask(job) {
    if (this.resolve) return Promise.resolve(false); // one question at a time
    const what = job.status === "queued" ? "It will not print." : "It stops now and cannot be resumed.";
    this.text.textContent = `“${job.name}”: ${what} The job stays in the history as cancelled.`;
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
