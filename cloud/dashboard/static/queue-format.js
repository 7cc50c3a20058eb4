// How the Queue page words a job's figures: statuses, priorities, times, grams, material.

import { el } from "./dom.js";
import { duration } from "./card.js";

// shared/enums.py JobStatus, in the order a job goes through them; `sort` is the list's
// order for that status (the queued one is the order the queue runs them in:
// cloud/queue/planner.py, priority first, then the oldest).
export const STATUSES = [
  { value: "queued", label: "Queued", sort: "-priority,created_at" },
  { value: "assigned", label: "Starting", sort: "-updated_at" },
  { value: "printing", label: "Printing", sort: "-started_at" },
  { value: "paused", label: "Paused", sort: "-updated_at" },
  { value: "completed", label: "Completed", sort: "-completed_at" },
  { value: "failed", label: "Failed", sort: "-updated_at" },
  { value: "cancelled", label: "Cancelled", sort: "-updated_at" },
];
export const FINAL = new Set(["completed", "failed", "cancelled"]);
export const PRIORITIES = [
  { value: "urgent", label: "Urgent" },
  { value: "high", label: "High" },
  { value: "normal", label: "Normal" },
  { value: "low", label: "Low" },
];

export function statusLabel(value) {
  const found = STATUSES.find((s) => s.value === value);
  return found ? found.label : value;
}

export function priorityLabel(value) {
  const found = PRIORITIES.find((p) => p.value === value);
  return found ? found.label : value;
}

/** "1 h 05 min", or "—" when the file gave no estimate. */
export function time(seconds) {
  return seconds === null || seconds === undefined ? "—" : duration(seconds);
}

export function grams(value) {
  return value === null || value === undefined ? "—" : `${value.toFixed(1)} g`;
}

export function bytes(size) {
  if (size < 1024) return `${size} B`;
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(0)} KB`;
  return `${(size / 1024 / 1024).toFixed(1)} MB`;
}

const stamp = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

/** A <time> element: the local date and time, the ISO value in `datetime`. */
export function when(iso) {
  if (!iso) return "—";
  return el("time", { datetime: iso }, stamp.format(new Date(iso)));
}

/** A colour swatch (set through the CSSOM: the CSP forbids style attributes) and its text. */
export function material(type, color) {
  if (!type && !color) return "Any";
  const swatch = color ? el("span", { class: "swatch", "aria-hidden": "true" }) : null;
  if (swatch) {
    if (CSS.supports("color", color)) swatch.style.backgroundColor = color;
    else swatch.classList.add("unknown");
  }
  return el("span", { class: "queue-material" }, swatch, [type, color].filter(Boolean).join(" · "));
}

/** "2 of 3 done" for several copies; the count alone for one. */
export function copies(job) {
  if (!job.copies || job.copies === 1) return "1";
  return `${job.copies_completed || 0} of ${job.copies} done`;
}

/** The name a file suggests for its job: without the G-code extension. */
export function nameFromFile(filename) {
  const stripped = filename.replace(/\.(gcode|gco|g|bgcode)$/i, "");
  return (stripped || filename).slice(0, 255);
}
