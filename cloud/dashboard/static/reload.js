// A load that never runs twice at once. Asked again while it runs, it runs once more after
// (to pick up whatever changed meanwhile), however often it was asked; every caller gets the
// promise of the run under way.

export class SingleFlight {
  /** `run`: the async load; `keepGoing`: whether a run asked for meanwhile still should
   * happen (false once the page has gone). */
  constructor(run, keepGoing = () => true) {
    this.run = run;
    this.keepGoing = keepGoing;
    this.running = null;
    this.again = false;
  }

  request() {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.run().finally(() => {
      this.running = null;
      if (this.again && this.keepGoing()) {
        this.again = false;
        this.request();
      }
    });
    return this.running;
  }
}
