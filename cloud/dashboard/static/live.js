// The live feed: Server-Sent Events from /dashboard/api/live, same origin, cookie sent by
// the browser. EventSource reconnects by itself after a dropped connection; it gives up
// only when the server answers with an error status (the session ended, or the route is
// gone), and then this module checks the session and tries again after a pause.

const LIVE_URL = "/dashboard/api/live";
const KINDS = ["state", "telemetry", "event", "agent"];
// After a refusal (the session ended, too many streams: Retry-After 30 s), not at once.
const RETRY_AFTER_CLOSE_MS = 10000;

export const TEXT = {
  connecting: "Connecting to live updates…",
  live: "Live",
  quiet: "Connected — no live printer feed on this server",
  lost: "Live updates lost — reconnecting…",
  denied: "No live updates: this key lacks the printers:read scope",
  off: "",
};

export class LiveFeed {
  /**
   * @param {object} handlers
   *   onItem(kind, item)   a state / telemetry / event / agent item
   *   onSnapshot()         refetch everything (hello on every (re)connect, resync)
   *   onStatus(state)      a key of TEXT
   *   onClosed()           the server refused the stream; resolves to true to retry
   */
  constructor(handlers) {
    this.handlers = handlers;
    this.source = null;
    this.retryTimer = 0;
  }

  start() {
    this.stop();
    this.handlers.onStatus("connecting");
    const source = new EventSource(LIVE_URL);
    this.source = source;
    source.addEventListener("open", () => this.handlers.onStatus("live"));
    source.addEventListener("hello", (message) => {
      const hello = parse(message);
      this.handlers.onStatus(hello && hello.live === false ? "quiet" : "live");
      this.handlers.onSnapshot();
    });
    source.addEventListener("resync", () => this.handlers.onSnapshot());
    for (const kind of KINDS) {
      source.addEventListener(kind, (message) => {
        const item = parse(message);
        if (item) this.handlers.onItem(kind, item);
      });
    }
    source.addEventListener("error", () => this.lost(source));
  }

  lost(source) {
    if (source !== this.source) return;
    this.handlers.onStatus("lost");
    if (source.readyState !== EventSource.CLOSED) return; // the browser retries by itself
    this.source = null;
    this.retryTimer = setTimeout(async () => {
      if (await this.handlers.onClosed()) this.start();
    }, RETRY_AFTER_CLOSE_MS);
  }

  stop() {
    clearTimeout(this.retryTimer);
    if (this.source) this.source.close();
    this.source = null;
  }
}

function parse(message) {
  try {
    return JSON.parse(message.data);
  } catch {
    return null;
  }
}
