// The Printer page's G-code console, for admin keys (POST /v1/printers/{id}/gcode): a line
// typed, Enter (or Send) sends it, the printer's answer is appended below it. Up and Down
// walk through the lines sent before. Lines go out one after the other, in the order typed.

import { el } from "./dom.js";

// What the API accepts (docs/api.md): printable ASCII but `*`, not blank, 96 characters.
const MAX_CHARS = 96;
const LINE = /^[ -)+-~]*[!-)+-~][ -)+-~]*$/;
const MAX_ENTRIES = 300; // the scrollback keeps the newest ones
const MAX_RECALL = 50;

export class GcodeConsole {
  constructor(ctx, printerId) {
    this.ctx = ctx;
    this.printerId = printerId;
    this.sent = []; // lines sent, oldest first, for Up / Down
    this.recallAt = 0;
    this.queue = Promise.resolve();
    this.alive = true;
    this.log = el("ol", {
      class: "console-log",
      role: "log",
      "aria-label": "Commands and replies",
      tabindex: "0",
      "data-testid": "console-log",
    });
    this.input = el("input", {
      id: "gcode-input",
      type: "text",
      autocomplete: "off",
      autocapitalize: "characters",
      spellcheck: "false",
      maxlength: String(MAX_CHARS),
      "aria-describedby": "gcode-hint gcode-error",
      "data-testid": "gcode-input",
    });
    this.error = el("p", { id: "gcode-error", class: "form-error", "aria-live": "polite" });
    const form = el(
      "form",
      { class: "console-form" },
      el("label", { for: "gcode-input" }, "G-code"),
      el(
        "div",
        { class: "console-row" },
        this.input,
        el("button", { type: "submit", class: "button primary", "data-testid": "gcode-send" }, "Send"),
      ),
      el(
        "p",
        { id: "gcode-hint", class: "hint" },
        "One line, e.g. M105. Sent only while the printer is idle; Up recalls the last line.",
      ),
      this.error,
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    this.input.addEventListener("keydown", (event) => this.onKey(event));
    this.root = el(
      "section",
      { class: "panel console", "aria-labelledby": "console-title", "data-testid": "gcode-console" },
      el("h2", { id: "console-title" }, "G-code console"),
      this.log,
      form,
    );
  }

  onKey(event) {
    if (event.key !== "ArrowUp" && event.key !== "ArrowDown") return;
    if (!this.sent.length) return;
    event.preventDefault();
    const step = event.key === "ArrowUp" ? -1 : 1;
    this.recallAt = Math.max(0, Math.min(this.sent.length, this.recallAt + step));
    this.input.value = this.recallAt < this.sent.length ? this.sent[this.recallAt] : "";
    this.input.setSelectionRange(this.input.value.length, this.input.value.length);
  }

  submit() {
    const line = this.input.value.trim();
    const problem = !line
      ? "Type a G-code line first."
      : line.length > MAX_CHARS
        ? `A line holds at most ${MAX_CHARS} characters.`
        : !LINE.test(line)
          ? "Only printable ASCII characters, without *."
          : "";
    this.error.textContent = problem;
    if (problem) {
      this.input.focus();
      return;
    }
    if (this.sent[this.sent.length - 1] !== line) this.sent.push(line);
    if (this.sent.length > MAX_RECALL) this.sent.shift();
    this.recallAt = this.sent.length;
    this.input.value = "";
    const entry = this.append("command", line);
    const status = el("span", { class: "console-status" }, " sending…");
    entry.append(status);
    // One at a time, in the order typed: the printer runs them in that order too.
    this.queue = this.queue.then(() => this.send(line, status));
  }

  async send(line, status) {
    const url = `/v1/printers/${encodeURIComponent(this.printerId)}/gcode`;
    try {
      const answer = await this.ctx.apiWithStatus(url, { method: "POST", body: { lines: [line] } });
      if (!this.alive) return;
      status.remove();
      const replies = (answer.body && answer.body.replies) || [];
      if (answer.status === 200) {
        if (!replies.length) this.append("reply quiet", "ok (no other reply)");
        for (const reply of replies) this.append("reply", reply);
      } else {
        this.append("note", "Sent; the printer has not answered yet. Its reply is not shown.");
      }
    } catch (error) {
      if (!this.alive) return;
      status.remove();
      this.append("error", error.message);
    }
  }

  append(kind, text) {
    const entry = el("li", { class: `console-entry ${kind}` }, text);
    this.log.append(entry);
    while (this.log.childElementCount > MAX_ENTRIES) this.log.firstElementChild.remove();
    this.log.scrollTop = this.log.scrollHeight;
    return entry;
  }

  unmount() {
    this.alive = false;
  }
}
