// One printer's card on the Farm page: built once, then updated in place. `describe` turns
// what is known of a printer into the strings the card shows; `CardView.update` writes only
// the ones that changed since the last frame, so a telemetry tick that moves nothing visible
// costs no DOM work at all.

import { el } from "./dom.js";

// The text is the label; the colour (style.css, by data-status) and the glyph only repeat it.
export const STATUS = {
  error: { label: "Error", glyph: "\u26A0\uFE0E", rank: 0 },
  paused: { label: "Paused", glyph: "\u275A\u275A", rank: 1 },
  printing: { label: "Printing", glyph: "\u25B6\uFE0E", rank: 2 },
  busy: { label: "Busy", glyph: "\u25D4", rank: 3 },
  idle: { label: "Idle", glyph: "\u25CB", rank: 4 },
  offline: { label: "Offline", glyph: "\u2715", rank: 5 },
};
const UNKNOWN_STATUS = { label: "Unknown", glyph: "?", rank: 6 };

export function statusInfo(status) {
  return STATUS[status] || UNKNOWN_STATUS;
}

// Which actions make sense in which status (POST /v1/printers/{id}/actions).
export const ACTIONS = [
  { action: "pause", label: "Pause", when: (s) => s === "printing" },
  { action: "resume", label: "Resume", when: (s) => s === "paused" },
  { action: "cancel", label: "Cancel", when: (s) => s === "printing" || s === "paused" },
  { action: "home", label: "Home", when: (s) => s === "idle" },
  { action: "cooldown", label: "Cool down", when: (s) => s === "idle" },
];

const clock = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
const weekday = new Intl.DateTimeFormat(undefined, { weekday: "short" });

export function duration(seconds) {
  const minutes = Math.ceil(seconds / 60);
  if (minutes < 1) return "under a minute";
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  if (hours === 0) return `${rest} min`;
  return `${hours} h ${String(rest).padStart(2, "0")} min`;
}

/** "1 h 05 min left · done at 14:32" (with the weekday when it is not today). */
export function eta(remainingS, now = new Date()) {
  const done = new Date(now.getTime() + remainingS * 1000);
  const sameDay = done.toDateString() === now.toDateString();
  const at = sameDay ? `done at ${clock.format(done)}` : `done ${weekday.format(done)} ${clock.format(done)}`;
  return `${duration(remainingS)} left · ${at}`;
}

function temperature(actual, target) {
  if (actual === null || actual === undefined) return "—";
  const now = `${Math.round(actual)}`;
  if (target === null || target === undefined) return `${now} °C`;
  if (target === 0) return `${now} °C (off)`;
  return `${now} / ${Math.round(target)} °C`;
}

function percent(value) {
  return value === null || value === undefined ? null : Math.max(0, Math.min(100, Math.round(value)));
}

/** What the printer has loaded: what it reports itself, or else the spools assigned to it. */
function materialsOf(view, spools) {
  if (view.materials && view.materials.length) {
    return view.materials.map((m) => ({
      slot: m.slot,
      type: m.type || "Unknown material",
      color: m.color || null,
      pct: percent(m.remaining_pct),
    }));
  }
  return (spools || []).map((spool) => ({
    slot: null,
    type: spool.type,
    color: spool.color || null,
    pct: spool.spool_weight > 0 ? percent((100 * spool.remaining_weight) / spool.spool_weight) : null,
  }));
}

/** The strings and numbers a card shows, from what is known of one printer. */
export function describe(view, lookups, now = new Date()) {
  const status = view.status;
  const job = view.jobId ? lookups.jobs.get(view.jobId) : null;
  let jobText = "No job";
  if (view.jobId) jobText = job ? job.name : `Job ${view.jobId}`;
  else if (view.foreignJob) jobText = `${view.foreignJob} (started outside AutoPrintFarm)`;
  const hasJob = Boolean(view.jobId || view.foreignJob);
  let remaining = view.remainingS;
  if ((remaining === null || remaining === undefined) && job && job.estimated_duration && job.elapsed_time !== null) {
    remaining = Math.max(0, job.estimated_duration - job.elapsed_time);
  }
  const printing = status === "printing" || status === "paused";
  let message = view.message || "";
  if (!message && status === "error") message = "The printer reports an error.";
  const materials = materialsOf(view, lookups.spools.get(view.printer.id));
  return {
    status,
    statusLabel: statusInfo(status).label,
    glyph: statusInfo(status).glyph,
    name: view.printer.name,
    jobText,
    progress: hasJob ? percent(view.progress) : null,
    eta: printing && remaining !== null && remaining !== undefined ? eta(remaining, now) : "",
    tempsKnown: view.temps.hotend !== null && view.temps.hotend !== undefined || view.temps.bed !== null && view.temps.bed !== undefined,
    hotend: temperature(view.temps.hotend, view.temps.hotend_target),
    bed: temperature(view.temps.bed, view.temps.bed_target),
    materials,
    materialsKey: JSON.stringify(materials),
    message,
    messageIsError: status === "error",
    actions: ACTIONS.filter((a) => a.when(status)).map((a) => a.action).join(" "),
    result: view.result ? view.result.text : "",
    resultKind: view.result ? view.result.kind : "",
    pending: Boolean(view.pending),
  };
}

/** The DOM of one card and the values it shows now. */
export class CardView {
  constructor(printer, { canAct, onAction }) {
    const id = printer.id;
    const nameId = `printer-${id}-name`;
    const t = (tag, cls, ...kids) => el(tag, { class: cls }, ...kids);
    this.nameLink = el("a", { href: `/printers/${encodeURIComponent(id)}` });
    this.glyph = el("span", { class: "status-glyph", "aria-hidden": "true" });
    this.statusText = t("span", "status-text");
    this.status = el("p", { class: "status", "data-testid": "status" }, this.glyph, " ", this.statusText);
    this.jobName = t("p", "job-name");
    this.progress = el("progress", { max: "100", "aria-labelledby": `printer-${id}-job` });
    this.progressText = el("span", { class: "progress-text", id: `printer-${id}-job` });
    this.progressRow = t("div", "progress-row", this.progress, this.progressText);
    this.eta = t("p", "eta");
    this.hotend = t("dd", "temp-hotend");
    this.bed = t("dd", "temp-bed");
    this.temps = el("dl", { class: "temps" }, t("div", "temp", t("dt", "", "Hotend"), this.hotend), t("div", "temp", t("dt", "", "Bed"), this.bed));
    this.materials = t("ul", "materials");
    this.message = el("p", { class: "message", "data-testid": "message" });
    this.result = el("p", { class: "action-result", "aria-live": "polite", "data-testid": "action-result" });
    this.buttons = new Map();
    const actions = t("div", "actions");
    if (canAct) {
      for (const { action, label } of ACTIONS) {
        const button = el("button", { type: "button", class: "button", "data-action": action, hidden: true }, label);
        button.addEventListener("click", () => onAction(action, button));
        this.buttons.set(action, button);
        actions.append(button);
      }
    }
    this.root = el(
      "article",
      { class: "card", id: `printer-${id}`, "data-printer-id": id, "data-testid": "printer-card", "aria-labelledby": nameId },
      el("header", { class: "card-head" }, el("h2", { id: nameId, class: "card-name" }, this.nameLink), this.status),
      el("div", { class: "card-job" }, this.jobName, this.progressRow, this.eta),
      this.temps,
      this.materials,
      this.message,
      canAct ? actions : null,
      this.result,
    );
    this.last = {};
  }

  /** Write what changed since the last call; says whether the status did (for re-sorting). */
  update(shown) {
    const last = this.last;
    const changed = (key) => last[key] !== shown[key];
    const statusChanged = changed("status");
    if (statusChanged) this.root.dataset.status = shown.status;
    if (changed("name")) this.nameLink.textContent = shown.name;
    if (changed("statusLabel")) this.statusText.textContent = shown.statusLabel;
    if (changed("glyph")) this.glyph.textContent = shown.glyph;
    if (changed("jobText")) this.jobName.textContent = shown.jobText;
    if (changed("progress")) {
      this.progressRow.hidden = shown.progress === null;
      if (shown.progress !== null) {
        this.progress.value = shown.progress;
        this.progressText.textContent = `${shown.progress} %`;
      }
    }
    if (changed("eta")) {
      this.eta.textContent = shown.eta;
      this.eta.hidden = !shown.eta;
    }
    if (changed("tempsKnown")) this.temps.hidden = !shown.tempsKnown;
    if (changed("hotend")) this.hotend.textContent = shown.hotend;
    if (changed("bed")) this.bed.textContent = shown.bed;
    if (changed("materialsKey")) this.drawMaterials(shown.materials);
    if (changed("message") || changed("messageIsError")) {
      this.message.textContent = shown.message;
      this.message.hidden = !shown.message;
      this.message.classList.toggle("is-error", shown.messageIsError);
    }
    if (changed("actions") || changed("pending")) this.showActions(shown.actions, shown.pending);
    if (changed("result") || changed("resultKind")) {
      this.result.textContent = shown.result;
      this.result.hidden = !shown.result;
      this.result.dataset.kind = shown.resultKind;
    }
    this.last = shown;
    return statusChanged;
  }

  drawMaterials(materials) {
    if (!materials.length) {
      this.materials.replaceChildren(el("li", { class: "material none" }, "No material reported"));
      return;
    }
    this.materials.replaceChildren(
      ...materials.map((m) => {
        const swatch = el("span", { class: "swatch", "aria-hidden": "true" });
        // Set through the CSSOM: the page's CSP forbids style attributes, not this.
        if (m.color && CSS.supports("color", m.color)) swatch.style.backgroundColor = m.color;
        else swatch.classList.add("unknown");
        const parts = [m.type, m.color, m.pct === null ? null : `${m.pct} % left`].filter(Boolean);
        return el("li", { class: "material" }, swatch, `${m.slot ? m.slot + ": " : ""}${parts.join(" · ")}`);
      }),
    );
  }

  showActions(actions, pending) {
    if (!this.buttons.size) return;
    const wanted = new Set(actions ? actions.split(" ") : []);
    const focused = [...this.buttons.values()].find((b) => b === document.activeElement);
    for (const [action, button] of this.buttons) {
      button.hidden = !wanted.has(action);
      // aria-disabled, not disabled: a disabled button would drop the keyboard focus.
      button.setAttribute("aria-disabled", pending ? "true" : "false");
    }
    if (focused && focused.hidden) {
      // The button pressed is gone (paused → Resume): keep the focus on this card.
      const next = [...this.buttons.values()].find((b) => !b.hidden);
      (next || this.nameLink).focus({ preventScroll: true });
    }
  }
}
