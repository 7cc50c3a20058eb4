// What the Farm page knows of each printer: the API's record, overlaid by the live feed
// (PrinterState and Telemetry of shared/wire/messages.py), and the spools assigned to it.

// Live temperatures this recent win over the API's: the cloud stores them from the same
// feed, a moment later (telemetry comes every 1-2 s while a printer is connected).
const LIVE_TEMPS_FRESH_MS = 10000;

/** What the page knows of one printer: the API's record, overlaid by the live feed. */
export class PrinterRecord {
  constructor(printer) {
    this.printer = printer;
    this.status = printer.status;
    this.jobId = printer.current_job;
    this.progress = printer.progress;
    this.remainingS = null;
    this.temps = { ...printer.temperatures };
    this.materials = printer.reported_materials || [];
    this.message = "";
    this.foreignJob = null;
    this.liveAt = 0; // when the last `state` item came (performance.now())
    this.tempsAt = -Infinity; // when live temperatures last came (state or telemetry)
    this.result = null; // the last action's outcome, shown on the card
    this.pending = null; // the action on its way
    this.card = null;
  }

  /** A fresh API record. What it says of the job and status is older than a state item that
   * came after the fetch started, so that part is kept from the live feed then; its
   * temperatures are used only while the live feed brings none. */
  fromApi(printer, fetchedAt, now = performance.now()) {
    this.printer = printer;
    if (now - this.tempsAt > LIVE_TEMPS_FRESH_MS) {
      this.temps = { ...this.temps, hotend: printer.temperatures.hotend, bed: printer.temperatures.bed };
    }
    if (printer.reported_materials && printer.reported_materials.length) this.materials = printer.reported_materials;
    if (fetchedAt > this.liveAt) {
      this.status = printer.status;
      if (this.jobId !== printer.current_job) this.remainingS = null;
      this.jobId = printer.current_job;
      this.progress = printer.progress;
    }
  }

  fromState(state) {
    this.liveAt = this.tempsAt = performance.now();
    this.status = state.status;
    this.temps = { ...state.temperatures };
    this.message = state.message || "";
    this.foreignJob = state.foreign_job || null;
    this.materials = state.materials || [];
    this.fromJob(state.job);
  }

  fromTelemetry(telemetry) {
    if (telemetry.temperatures) {
      this.temps = { ...this.temps, ...telemetry.temperatures };
      this.tempsAt = performance.now();
    }
    if (telemetry.job !== undefined) this.fromJob(telemetry.job);
  }

  fromJob(job) {
    this.jobId = job ? job.job_id : null;
    this.progress = job ? job.progress : null;
    this.remainingS = job && job.remaining_s !== undefined ? job.remaining_s : null;
  }
}

/** The spools assigned to printers (GET /v1/materials), archived ones left out. */
export function spoolsByPrinter(spools) {
  const byPrinter = new Map();
  for (const spool of spools) {
    if (!spool.printer_id || spool.status === "archived") continue;
    if (!byPrinter.has(spool.printer_id)) byPrinter.set(spool.printer_id, []);
    byPrinter.get(spool.printer_id).push(spool);
  }
  return byPrinter;
}
