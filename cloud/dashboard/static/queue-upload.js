// Adding a job on the Queue page: a G-code file dropped on the zone (or chosen with the
// button) is analysed first (POST /v1/jobs/analyze: nothing is stored), the analysis or the
// reason the file is refused is shown, and "Queue it" then creates the job from the same file
// and the form's fields (POST /v1/jobs, multipart: cloud/schemas/jobs.py JobFields).

import { el } from "./dom.js";
import * as fmt from "./queue-format.js";

export class UploadPanel {
  /**
   * @param {object} ctx      the page context (apiForm)
   * @param {object} options
   *   printers()      Map of printer id -> name, for the printer list
   *   onQueued(job)   the job was created
   */
  constructor(ctx, { printers, onQueued }) {
    this.ctx = ctx;
    this.printers = printers;
    this.onQueued = onQueued;
    this.file = null;
    this.seq = 0; // the newest file's turn: an older answer is dropped
    this.busy = false;
    this.build();
  }

  build() {
    this.input = el("input", { type: "file", id: "queue-file", accept: ".gcode,.gco,.g,text/x.gcode", hidden: true, "data-testid": "file-input" });
    this.choose = el("button", { type: "button", class: "button primary", "data-testid": "choose-file" }, "Choose a G-code file…");
    this.status = el("p", { class: "queue-upload-status", role: "status", "data-testid": "upload-status" });
    this.zone = el(
      "div",
      { class: "queue-drop", "data-testid": "drop-zone" },
      el("p", { class: "queue-drop-text" }, "Drop a G-code file here to analyse it before it is queued, or"),
      this.choose,
      this.input,
    );
    this.problem = el("div", { class: "problem", role: "alert", hidden: true, "data-testid": "file-invalid" });
    this.analysis = el("div", { class: "queue-analysis", hidden: true, "data-testid": "analysis" });
    this.form = this.buildForm();
    this.root = el(
      "section",
      { class: "queue-upload", "aria-labelledby": "queue-upload-title" },
      el("h2", { id: "queue-upload-title" }, "Add a job"),
      this.zone,
      this.status,
      this.problem,
      this.analysis,
      this.form,
    );
    this.choose.addEventListener("click", () => this.busy || this.input.click());
    this.input.addEventListener("change", () => {
      if (this.input.files.length) this.take(this.input.files[0], this.input.files.length);
    });
    // A file dropped beside the zone must not replace the page with the file's text.
    this.stray = (event) => {
      if (!this.zone.contains(event.target)) event.preventDefault();
    };
    document.addEventListener("dragover", this.stray);
    document.addEventListener("drop", this.stray);
    this.zone.addEventListener("dragenter", (event) => this.onDrag(event, true));
    this.zone.addEventListener("dragover", (event) => this.onDrag(event, true));
    this.zone.addEventListener("dragleave", (event) => this.onDrag(event, false));
    this.zone.addEventListener("drop", (event) => {
      this.onDrag(event, false);
      const files = event.dataTransfer ? event.dataTransfer.files : [];
      if (files.length && !this.busy) this.take(files[0], files.length);
    });
  }

  buildForm() {
    const field = (id, label, control, hint) =>
      el("div", { class: "field" }, el("label", { for: id }, label), control, hint ? el("p", { class: "hint" }, hint) : null);
    this.nameInput = el("input", { id: "queue-name", name: "name", required: true, maxlength: "255", autocomplete: "off" });
    this.prioritySelect = el("select", { id: "queue-priority", name: "priority" }, ...fmt.PRIORITIES.map((p) => el("option", { value: p.value }, p.label)));
    this.materialInput = el("input", { id: "queue-material", name: "material", maxlength: "64", autocomplete: "off" });
    this.colorInput = el("input", { id: "queue-color", name: "material_color", maxlength: "64", autocomplete: "off", placeholder: "e.g. Black" });
    this.copiesInput = el("input", { id: "queue-copies", name: "copies", type: "number", min: "1", max: "1000", step: "1", required: true, inputmode: "numeric" });
    this.printerSelect = el("select", { id: "queue-printer", name: "printer_id" });
    this.submit = el("button", { type: "submit", class: "button primary", "data-testid": "queue-it" }, "Queue it");
    this.discard = el("button", { type: "button", class: "button", "data-testid": "discard" }, "Discard");
    this.formError = el("p", { class: "form-error", role: "alert", "data-testid": "queue-error" });
    const form = el(
      "form",
      { class: "queue-form", hidden: true, "aria-label": "The new job", novalidate: true },
      el(
        "div",
        { class: "queue-form-fields" },
        field("queue-name", "Name", this.nameInput),
        field("queue-priority", "Priority", this.prioritySelect),
        field("queue-material", "Material type", this.materialInput, "The queue picks a printer with it loaded."),
        field("queue-color", "Colour", this.colorInput, "Optional: matched when given."),
        field("queue-copies", "Copies", this.copiesInput),
        field("queue-printer", "Printer", this.printerSelect),
      ),
      this.formError,
      el("div", { class: "queue-form-buttons" }, this.submit, this.discard),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.queue();
    });
    this.discard.addEventListener("click", () => {
      if (this.busy) return;
      this.reset();
      this.say("");
      this.choose.focus();
    });
    return form;
  }

  onDrag(event, over) {
    event.preventDefault(); // a drop must not open the file in the tab
    if (event.dataTransfer && over) event.dataTransfer.dropEffect = this.busy ? "none" : "copy";
    this.zone.classList.toggle("is-over", over && !this.busy);
  }

  setBusy(busy, text) {
    this.busy = busy;
    for (const button of [this.choose, this.submit, this.discard]) button.setAttribute("aria-disabled", busy ? "true" : "false");
    this.root.setAttribute("aria-busy", busy ? "true" : "false");
    if (text !== undefined) this.say(text);
  }

  say(text) {
    this.status.textContent = text;
  }

  reset() {
    this.file = null;
    this.input.value = "";
    this.problem.hidden = true;
    this.analysis.hidden = true;
    this.form.hidden = true;
    this.formError.textContent = "";
  }

  /** A file was chosen or dropped: analyse it. */
  async take(file, count) {
    const seq = ++this.seq;
    this.reset();
    this.file = file;
    const more = count > 1 ? ` (one file at a time: took ${file.name})` : "";
    this.setBusy(true, `Analysing ${file.name}…${more}`);
    const form = new FormData();
    form.append("file", file, file.name);
    try {
      const found = await this.ctx.apiForm("/v1/jobs/analyze", form);
      if (seq !== this.seq) return;
      this.showAnalysis(found);
      this.setBusy(false, `${file.name} analysed: check the job and queue it.`);
      this.nameInput.focus();
    } catch (error) {
      if (seq !== this.seq) return;
      this.file = null;
      this.input.value = "";
      const refused = error.code === "file_invalid";
      this.problem.replaceChildren(
        el("p", {}, el("strong", {}, refused ? `${file.name} cannot be queued. ` : `${file.name} was not analysed. `), error.message),
      );
      this.problem.hidden = false;
      this.setBusy(false, refused ? "The file was refused: nothing was queued." : "");
    }
  }

  showAnalysis(found) {
    const row = (term, value) => el("div", { class: "queue-fact" }, el("dt", {}, term), el("dd", {}, value));
    const source = found.estimated_duration_source === "slicer" ? "the slicer's estimate" : "computed from the moves";
    const used = [fmt.grams(found.material.estimated_usage)];
    if (found.filament_used_mm) used.push(`${(found.filament_used_mm / 1000).toFixed(2)} m`);
    let layers = "—";
    if (found.layer_count) layers = `${found.layer_count}${found.layer_height_mm ? ` × ${found.layer_height_mm} mm` : ""}`;
    const temps = [
      found.first_layer_hotend_c === null ? null : `hotend ${Math.round(found.first_layer_hotend_c)} °C`,
      found.first_layer_bed_c === null ? null : `bed ${Math.round(found.first_layer_bed_c)} °C`,
    ].filter(Boolean);
    const slicer = found.slicer ? [found.slicer.name, found.slicer.version].filter(Boolean).join(" ") : "Not named";
    const facts = el(
      "dl",
      { class: "queue-facts" },
      row("Estimated time", el("span", { "data-testid": "analysis-time" }, `${fmt.time(found.estimated_duration)} (${source})`)),
      row("Filament", el("span", { "data-testid": "analysis-filament" }, used.join(" · "))),
      row("Layers", layers),
      row("Material", found.material.type ? fmt.material(found.material.type, found.material.color) : "Not named in the file"),
      row("First layer", temps.length ? temps.join(", ") : "—"),
      row("Slicer", slicer),
      row("File", `${found.filename} · ${fmt.bytes(found.size_bytes)}`),
    );
    this.analysis.replaceChildren(el("h3", {}, `Analysis of ${found.filename}`), facts);
    if (found.warnings.length) {
      this.analysis.append(
        el("ul", { class: "queue-warnings", "aria-label": "Warnings", "data-testid": "analysis-warnings" }, ...found.warnings.map((w) => el("li", {}, w))),
      );
    }
    this.analysis.hidden = false;
    this.nameInput.value = fmt.nameFromFile(found.filename);
    this.prioritySelect.value = "normal";
    this.materialInput.value = found.material.type || "";
    this.colorInput.value = found.material.color || "";
    this.copiesInput.value = "1";
    this.fillPrinters();
    this.form.hidden = false;
  }

  fillPrinters() {
    const names = [...this.printers()].sort((a, b) => a[1].localeCompare(b[1], undefined, { numeric: true }));
    this.printerSelect.replaceChildren(
      el("option", { value: "" }, "Any matching printer"),
      ...names.map(([id, name]) => el("option", { value: id }, name)),
    );
  }

  /** "Queue it": create the job from the same file and the form's fields. */
  async queue() {
    if (this.busy || !this.file) return;
    const name = this.nameInput.value.trim();
    const copies = Number(this.copiesInput.value);
    if (!name) return this.refuse("Give the job a name.", this.nameInput);
    if (!Number.isInteger(copies) || copies < 1 || copies > 1000) return this.refuse("Copies: a whole number from 1 to 1000.", this.copiesInput);
    const form = new FormData();
    form.append("name", name);
    form.append("priority", this.prioritySelect.value);
    form.append("copies", String(copies));
    const material = this.materialInput.value.trim();
    const color = this.colorInput.value.trim();
    if (material) form.append("material", material);
    if (color) form.append("material_color", color);
    if (this.printerSelect.value) form.append("printer_id", this.printerSelect.value);
    form.append("file", this.file, this.file.name);
    this.formError.textContent = "";
    this.setBusy(true, `Queueing ${name}…`);
    const seq = this.seq;
    try {
      const job = await this.ctx.apiForm("/v1/jobs", form);
      if (seq !== this.seq) return;
      this.reset();
      this.setBusy(false, `Queued “${job.name}”.`);
      this.choose.focus();
      this.onQueued(job);
    } catch (error) {
      if (seq !== this.seq) return;
      this.setBusy(false, "");
      this.formError.textContent = `Not queued: ${error.message}`;
      const fields = { name: this.nameInput, priority: this.prioritySelect, material: this.materialInput, material_color: this.colorInput, copies: this.copiesInput, printer_id: this.printerSelect };
      if (fields[error.param]) fields[error.param].focus();
    }
  }

  refuse(text, control) {
    this.formError.textContent = text;
    control.focus();
  }

  /** The page is going: forget any answer still on its way. */
  close() {
    this.seq += 1;
    document.removeEventListener("dragover", this.stray);
    document.removeEventListener("drop", this.stray);
  }
}
