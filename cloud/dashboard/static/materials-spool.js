// The spool form of the Materials page, in a native modal <dialog>: empty to add a spool
// (POST /v1/materials), filled in to edit one (PATCH with only the fields that changed).
// The API checks everything again; what it refuses is shown by the field it names.

import { el } from "./dom.js";
import { FormErrors, field } from "./forms.js";

// Suggestions only: the API takes any type name (1–64 characters).
const COMMON_TYPES = ["PLA", "PETG", "ABS", "ASA", "TPU", "Nylon", "PC"];

// The form's number fields and the API's names for them (cloud/schemas/materials.py).
const NUMBERS = ["spool_weight", "remaining_weight", "reorder_threshold", "cost_per_kg"];
// Fields the API lets be null (cleared); type, spool_weight and remaining_weight are not.
const NULLABLE = new Set(["brand", "color", "reorder_threshold", "cost_per_kg", "printer_id"]);

function numberInput(attributes) {
  return el("input", { type: "number", inputmode: "decimal", step: "any", min: "0", ...attributes });
}

export class SpoolDialog {
  /** `save(body, spool)` sends the request (spool: null to create) and resolves to the result. */
  constructor(root, { save }) {
    this.save = save;
    this.spool = null;
    this.title = el("h2", { id: "spool-dialog-title" });
    const typeList = el("datalist", { id: "spool-type-list" }, ...COMMON_TYPES.map((type) => el("option", { value: type })));
    const swatch = el("span", { class: "swatch unknown", "aria-hidden": "true" });
    this.swatch = swatch;
    const f = {
      type: field("spool-type", "Type", el("input", { type: "text", required: true, maxlength: "64", list: typeList.id, autocomplete: "off" }), {
        hint: "PLA, PETG, ABS…",
      }),
      brand: field("spool-brand", "Brand", el("input", { type: "text", maxlength: "200", autocomplete: "off" })),
      color: field("spool-color", "Colour", el("input", { type: "text", maxlength: "200", autocomplete: "off" }), {
        hint: "A name (Black) or a hex code (#1d4ed8); jobs match it as written.",
      }),
      spool_weight: field("spool-weight", "Spool weight (g)", numberInput({ required: true, min: "0.1" }), {
        hint: "Filament on a full spool.",
      }),
      remaining_weight: field("spool-remaining", "Remaining (g)", numberInput({})),
      reorder_threshold: field("spool-threshold", "Low at or under (g)", numberInput({}), {
        hint: "The spool is marked Low at or under this weight. Empty: never.",
      }),
      cost_per_kg: field("spool-cost", "Cost per kg", numberInput({ step: "0.01" })),
      printer_id: field("spool-printer", "Printer", el("select", {})),
    };
    this.fields = f;
    this.remainingHint = el("p", { id: "spool-remaining-hint", class: "hint" });
    f.remaining_weight.control.setAttribute("aria-describedby", `${this.remainingHint.id} ${f.remaining_weight.error.id}`);
    f.remaining_weight.control.after(this.remainingHint);
    f.color.control.before(el("span", { class: "color-input" }));
    const colorRow = f.color.wrap.querySelector(".color-input");
    colorRow.append(swatch, f.color.control);
    this.archived = el("input", { type: "checkbox", id: "spool-archived" });
    this.archivedRow = el("div", { class: "field checkbox" }, this.archived, el("label", { for: "spool-archived" }, "Archived (used up or put away)"));
    this.general = el("p", { class: "form-error", role: "alert", hidden: true, "data-testid": "form-error" });
    this.errors = new FormErrors(this.general, f);
    this.submit = el("button", { type: "submit", class: "button primary", "data-testid": "spool-save" }, "Save");
    this.cancel = el("button", { type: "button", class: "button" }, "Cancel");
    this.form = el(
      "form",
      { class: "spool-form", "aria-labelledby": this.title.id },
      this.title,
      this.general,
      el("div", { class: "form-grid" }, ...Object.values(f).map((x) => x.wrap)),
      this.archivedRow,
      typeList,
      el("div", { class: "dialog-buttons" }, this.cancel, this.submit),
    );
    this.dialog = el("dialog", { id: "spool-dialog", class: "dialog form-dialog", "aria-labelledby": this.title.id }, this.form);
    root.append(this.dialog);
    this.cancel.addEventListener("click", () => this.close());
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
    f.color.control.addEventListener("input", () => this.drawSwatch());
  }

  /** Open the form: `spool` null to add one; `printers` the [id, name] pairs to offer. */
  open(spool, printers) {
    this.spool = spool;
    const f = this.fields;
    this.errors.clear();
    this.title.textContent = spool ? `Edit spool: ${spool.type}${spool.color ? " · " + spool.color : ""}` : "Add a spool";
    this.submit.textContent = spool ? "Save changes" : "Add spool";
    const current = spool ? spool.printer_id : null;
    const options = [...printers];
    if (current && !printers.some(([id]) => id === current)) options.push([current, current]);
    f.printer_id.control.replaceChildren(el("option", { value: "" }, "Not on a printer"), ...options.map(([id, name]) => el("option", { value: id }, name)));
    for (const name of ["type", "brand", "color", ...NUMBERS, "printer_id"]) {
      const value = spool ? spool[name] : null;
      f[name].control.value = value === null || value === undefined ? "" : String(value);
    }
    f.remaining_weight.control.required = Boolean(spool);
    this.remainingHint.textContent = spool ? "What is left on the spool." : "What is left on the spool. Empty: a full spool.";
    this.archivedRow.hidden = !spool;
    this.archived.checked = Boolean(spool && spool.status === "archived");
    this.drawSwatch();
    this.dialog.showModal();
    f.type.control.focus();
  }

  drawSwatch() {
    const color = this.fields.color.control.value.trim();
    const known = color && CSS.supports("color", color);
    // Set through the CSSOM: the page's CSP forbids style attributes, not this.
    this.swatch.style.backgroundColor = known ? color : "";
    this.swatch.classList.toggle("unknown", !known);
  }

  /** The form's values, by the API's field names (numbers as numbers, empty as null). */
  values() {
    const f = this.fields;
    const values = {};
    for (const name of ["type", "brand", "color", "printer_id"]) {
      const text = f[name].control.value.trim();
      values[name] = text === "" ? null : text;
    }
    for (const name of NUMBERS) {
      const number = f[name].control.valueAsNumber;
      values[name] = Number.isNaN(number) ? null : number;
    }
    return values;
  }

  /** The request body: every given field to add a spool; only the changed ones to edit. */
  body() {
    const values = this.values();
    const spool = this.spool;
    const body = {};
    if (!spool) {
      for (const [name, value] of Object.entries(values)) if (value !== null) body[name] = value;
      return body;
    }
    for (const [name, value] of Object.entries(values)) {
      const before = spool[name] === undefined ? null : spool[name];
      if (value === before) continue;
      if (value === null && !NULLABLE.has(name)) continue; // left empty: not changed
      body[name] = value;
    }
    const archived = this.archived.checked;
    if (archived !== (spool.status === "archived")) body.archived = archived;
    return body;
  }

  async send() {
    if (this.busy) return;
    if (!this.form.reportValidity()) return;
    const body = this.body();
    if (this.spool && Object.keys(body).length === 0) {
      this.close();
      return;
    }
    this.busy = true;
    this.submit.setAttribute("aria-disabled", "true");
    this.errors.clear();
    try {
      await this.save(body, this.spool);
      this.close();
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
