// The Materials page: every spool (GET /v1/materials, every page) with what is left on it,
// where it is loaded, and what it costs; adding, editing and deleting spools for a key with
// `materials:write`.
//
// Low and empty are the API's own `status` (cloud/services/materials.py): `empty` at 0 g,
// `low` at or under the spool's `reorder_threshold`. Prints use up spools when they end, and
// the live feed does not carry spools, so the list is loaded again after a job ends (a burst
// of events makes one reload), on `refresh()` and after the user's own changes.

import { SingleFlight } from "./reload.js";
import { el, setText } from "./dom.js";
import { ConfirmDialog, formatNumber, formatTime } from "./forms.js";
import { SpoolDialog } from "./materials-spool.js";

// The job events after which the cloud deducts filament (cloud/orchestration/materials.py).
const USES_FILAMENT = new Set(["job.completed", "job.failed", "job.cancelled"]);
const RELOAD_DELAY_MS = 1000;

// The text is the badge; its colour (materials.css) only repeats it.
const BADGES = {
  low: { label: "Low", glyph: "\u25BC" },
  empty: { label: "Empty", glyph: "\u2715" },
  archived: { label: "Archived", glyph: "\u25A1" },
};
// Which spools come first: the ones to act on.
const STATUS_ORDER = { empty: 0, low: 1, active: 2, archived: 3 };

export function mount(root, ctx) {
  return new MaterialsPage(root, ctx);
}

class MaterialsPage {
  constructor(root, ctx) {
    this.ctx = ctx;
    this.canWrite = ctx.allows("materials:write");
    this.spools = [];
    this.printers = new Map(); // id → name
    this.alive = true;
    this.loaded = false;
    this.reloads = new SingleFlight(() => this.fetch(), () => this.alive);
    this.reloadTimer = 0;
    this.build(root);
    this.load();
  }

  build(root) {
    this.summary = el("p", { class: "summary", "data-testid": "summary" }, "Loading spools…");
    this.problem = el("div", { class: "problem", role: "alert", hidden: true });
    this.result = el("p", { class: "page-result", role: "status", "data-testid": "page-result" });
    this.list = el("ul", { class: "spools", "aria-label": "Spools", "data-testid": "spools" });
    this.addButton = null;
    if (this.canWrite) {
      this.addButton = el("button", { type: "button", class: "button primary", "data-testid": "add-spool" }, "Add spool");
      this.addButton.addEventListener("click", () => this.dialog.open(null, this.printerChoices()));
    }
    const page = el(
      "div",
      { class: "materials-page" },
      el("div", { class: "page-head" }, el("h1", { id: "page-title", tabindex: "-1" }, "Materials"), this.addButton),
      this.summary,
      this.result,
      this.problem,
      this.list,
    );
    root.append(page);
    if (this.canWrite) {
      this.dialog = new SpoolDialog(page, { save: (body, spool) => this.save(body, spool) });
      this.confirm = new ConfirmDialog(page, "spool-delete-dialog");
    }
  }

  // --- data -------------------------------------------------------------------------------

  refresh() {
    return this.load();
  }

  /** Load the spools and the printers' names; a call during a load runs one more after. */
  load() {
    return this.reloads.request();
  }

  async fetch() {
    const { ctx } = this;
    try {
      const [spools, printers] = await Promise.all([
        ctx.fetchAll("/v1/materials"),
        ctx.allows("printers:read") ? ctx.fetchAll("/v1/printers") : null,
      ]);
      if (!this.alive) return;
      this.spools = spools;
      if (printers) this.printers = new Map(printers.map((p) => [p.id, p.name]));
      this.loaded = true;
      this.problem.hidden = true;
      this.draw();
    } catch (error) {
      if (!this.alive || error.status === 401) return;
      const retry = el("button", { type: "button", class: "button" }, "Try again");
      retry.addEventListener("click", () => this.load());
      this.problem.replaceChildren(el("p", {}, `The spools could not be loaded: ${error.message}`), retry);
      this.problem.hidden = false;
      if (!this.loaded) this.summary.textContent = "No spools loaded.";
    }
  }

  reloadSoon() {
    if (this.reloadTimer) return;
    this.reloadTimer = setTimeout(() => {
      this.reloadTimer = 0;
      if (this.alive) this.load();
    }, RELOAD_DELAY_MS);
  }

  onLive(kind, item) {
    if (kind === "event" && item.data && USES_FILAMENT.has(item.data.type)) this.reloadSoon();
  }

  printerChoices() {
    return [...this.printers].sort((a, b) => a[1].localeCompare(b[1], undefined, { numeric: true }));
  }

  // --- drawing ----------------------------------------------------------------------------

  draw() {
    const spools = [...this.spools].sort(
      (a, b) =>
        (STATUS_ORDER[a.status] ?? 9) - (STATUS_ORDER[b.status] ?? 9) ||
        a.type.localeCompare(b.type) ||
        (a.color || "").localeCompare(b.color || "") ||
        a.created_at.localeCompare(b.created_at),
    );
    // Put the focus back where it was (the same button of the same spool) after the redraw.
    const active = document.activeElement;
    const focusKey = active && this.list.contains(active) ? [active.closest("[data-material-id]")?.dataset.materialId, active.dataset.action] : null;
    this.list.replaceChildren(...spools.map((spool) => this.card(spool)));
    if (focusKey) {
      const again = this.list.querySelector(`[data-material-id="${CSS.escape(focusKey[0] || "")}"] [data-action="${focusKey[1]}"]`);
      if (again) again.focus({ preventScroll: true });
    }
    this.drawSummary();
  }

  drawSummary() {
    const count = (status) => this.spools.filter((s) => s.status === status).length;
    const total = this.spools.length;
    if (!total) {
      setText(this.summary, this.canWrite ? "No spools yet. Add the first one." : "No spools yet.");
      return;
    }
    const parts = [`${total} ${total === 1 ? "spool" : "spools"}`];
    const low = count("low");
    const empty = count("empty");
    const archived = count("archived");
    if (low) parts.push(`${low} low`);
    if (empty) parts.push(`${empty} empty`);
    if (archived) parts.push(`${archived} archived`);
    setText(this.summary, parts.join(" · "));
  }

  card(spool) {
    const id = spool.id;
    const titleId = `spool-${id}-title`;
    const badge = BADGES[spool.status];
    const swatch = el("span", { class: "swatch", "aria-hidden": "true" });
    if (spool.color && CSS.supports("color", spool.color)) swatch.style.backgroundColor = spool.color;
    else swatch.classList.add("unknown");
    const fraction = spool.spool_weight > 0 ? Math.min(1, Math.max(0, spool.remaining_weight / spool.spool_weight)) : 0;
    const pct = Math.round(fraction * 100);
    const left = `${formatNumber(spool.remaining_weight)} g of ${formatNumber(spool.spool_weight)} g`;
    const meter = el("meter", {
      min: "0",
      max: String(spool.spool_weight),
      value: String(spool.remaining_weight),
      optimum: String(spool.spool_weight),
      "aria-label": `Remaining on ${spool.type}${spool.color ? " " + spool.color : ""}`,
      "aria-valuetext": `${left}, ${pct} %`,
      "data-testid": "remaining-bar",
    });
    if (spool.reorder_threshold !== null) meter.setAttribute("low", String(Math.min(spool.reorder_threshold, spool.spool_weight)));
    const printerName = spool.printer_id ? this.printers.get(spool.printer_id) || spool.printer_id : null;
    const facts = el(
      "dl",
      { class: "spool-facts" },
      fact("Colour", el("span", { class: "spool-color" }, swatch, spool.color || "Not given")),
      fact("Printer", printerName ? el("a", { href: `/printers/${encodeURIComponent(spool.printer_id)}`, "data-testid": "spool-printer" }, printerName) : "Not on a printer"),
      fact("Cost", spool.cost_per_kg === null ? "Not given" : `${formatNumber(spool.cost_per_kg, 2)} per kg`),
      fact("Low at", spool.reorder_threshold === null ? "Not set" : `${formatNumber(spool.reorder_threshold)} g`),
    );
    const item = el(
      "li",
      { class: "spool", "data-material-id": id, "data-status": spool.status, "data-testid": "spool", "aria-labelledby": titleId },
      el(
        "div",
        { class: "spool-head" },
        el("h2", { id: titleId, class: "spool-title" }, [spool.type, spool.brand].filter(Boolean).join(" · ")),
        badge ? el("span", { class: "spool-badge", "data-testid": "spool-badge" }, el("span", { "aria-hidden": "true" }, badge.glyph + " "), badge.label) : null,
      ),
      el("div", { class: "spool-remaining" }, meter, el("span", { class: "spool-left", "data-testid": "remaining-text" }, `${left} · ${pct} %`)),
      facts,
      el("p", { class: "spool-updated hint" }, `Updated ${formatTime(spool.updated_at)}`),
    );
    if (this.canWrite) {
      const edit = el("button", { type: "button", class: "button", "data-action": "edit", "aria-describedby": titleId }, "Edit");
      const remove = el("button", { type: "button", class: "button", "data-action": "delete", "aria-describedby": titleId }, "Delete");
      edit.addEventListener("click", () => this.dialog.open(spool, this.printerChoices()));
      remove.addEventListener("click", () => this.remove(spool));
      item.append(el("div", { class: "actions" }, edit, remove));
    }
    return item;
  }

  // --- writes -----------------------------------------------------------------------------

  /** The form's request; the dialog shows a refusal by its field. */
  async save(body, spool) {
    const { ctx } = this;
    const saved = spool
      ? await ctx.api(`/v1/materials/${encodeURIComponent(spool.id)}`, { method: "PATCH", body })
      : await ctx.api("/v1/materials", { method: "POST", body });
    this.upsert(saved);
    this.say(spool ? `Saved ${label(saved)}.` : `Added ${label(saved)}.`);
    this.load();
    return saved;
  }

  async remove(spool) {
    const ok = await this.confirm.ask({
      title: "Delete this spool?",
      text: `${label(spool)} (${formatNumber(spool.remaining_weight)} g left) is removed from the stock list. This cannot be undone; archive it instead to keep its record.`,
      yes: "Delete spool",
    });
    if (!ok) return;
    try {
      await this.ctx.api(`/v1/materials/${encodeURIComponent(spool.id)}`, { method: "DELETE" });
      this.spools = this.spools.filter((s) => s.id !== spool.id);
      this.draw();
      this.say(`Deleted ${label(spool)}.`);
      this.addButton.focus(); // its card, and the button pressed, are gone
    } catch (error) {
      if (error.status === 404) this.load();
      this.say(`Deleting ${label(spool)} failed: ${error.message}`, true);
    }
  }

  upsert(spool) {
    const at = this.spools.findIndex((s) => s.id === spool.id);
    if (at >= 0) this.spools[at] = spool;
    else this.spools.push(spool);
    this.draw();
  }

  say(text, isError = false) {
    this.result.textContent = text;
    this.result.classList.toggle("is-error", isError);
  }

  unmount() {
    this.alive = false;
    clearTimeout(this.reloadTimer);
    if (this.dialog) this.dialog.close();
    if (this.confirm) this.confirm.close();
  }
}

function fact(term, value) {
  return el("div", { class: "spool-fact" }, el("dt", {}, term), el("dd", {}, value));
}

function label(spool) {
  return [spool.type, spool.color].filter(Boolean).join(" ");
}
