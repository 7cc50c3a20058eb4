// The dashboard shell: the route table, the session, the live feed, and the page in <main>.
//
// Every page path is served the same index.html (cloud/dashboard/pages.py); this script
// reads `location.pathname` and mounts that page's module. A page module exports
// `mount(root, ctx)` and returns an object with any of:
//   refresh()           refetch its data (the live feed (re)connected or asked to resync)
//   onLive(kind, item)  a live item: "state" | "telemetry" | "event" | "agent"
//   unmount()           stop its timers before the next page replaces it

import * as server from "./api.js";
import { LiveFeed, TEXT } from "./live.js";

const PRODUCT = "AutoPrintFarm";
const placeholder = () => import("./placeholder.js");

// name: the nav entry it lights; public: shown without a session (and, unless `anyone`,
// left for the page after sign-in when there is one).
const ROUTES = [
  { name: "farm", pattern: /^\/(?:farm)?$/, title: "Farm", load: () => import("./farm.js") },
  { name: "printer", pattern: /^\/printers\/([^/]+)$/, title: "Printer", load: () => import("./printer.js"), nav: "farm" },
  { name: "queue", pattern: /^\/queue$/, title: "Queue", load: () => import("./queue.js") },
  { name: "materials", pattern: /^\/materials$/, title: "Materials", load: () => import("./materials.js") },
  { name: "webhooks", pattern: /^\/webhooks$/, title: "Webhooks", load: () => import("./webhooks.js") },
  { name: "analytics", pattern: /^\/analytics$/, title: "Analytics", load: () => import("./analytics.js") },
  { name: "settings", pattern: /^\/settings$/, title: "Settings", load: () => import("./settings.js") },
  { name: "sign-in", pattern: /^\/sign-in$/, title: "Sign in", load: () => import("./signin.js"), public: true },
  // Open to anyone, signed in or not: whoever holds an invitation's link (join.js).
  { name: "join", pattern: /^\/join$/, title: "Join", load: () => import("./join.js"), public: true, anyone: true },
];
const NOT_FOUND = { name: "not-found", title: "Page not found", load: () => import("./placeholder.js") };

const shell = {
  main: document.getElementById("main"),
  nav: document.getElementById("site-nav"),
  status: document.getElementById("live-status"),
  org: document.getElementById("session-org"),
  signOut: document.getElementById("sign-out"),
};

let session = null;
let page = null;
let renderSeq = 0;
let notice = ""; // a sentence for the sign-in page (why the user is there)

const live = new LiveFeed({
  onItem: (kind, item) => page && page.onLive && page.onLive(kind, item),
  onSnapshot: () => page && page.refresh && page.refresh(),
  onStatus: showLive,
  onClosed: async () => {
    try {
      if (await server.currentSession()) return true;
    } catch {
      return true; // the server is away: keep trying
    }
    endSession("Your session has ended. Sign in again to continue.");
    return false;
  },
});

function showLive(state) {
  shell.status.textContent = TEXT[state];
  shell.status.dataset.state = state;
}

function match(pathname) {
  for (const route of ROUTES) {
    const found = route.pattern.exec(pathname);
    if (found) return { route, params: found.slice(1).map(decodeURIComponent) };
  }
  return { route: NOT_FOUND, params: [] };
}

/** A path to return to after sign-in: only a page of this dashboard, never another site. */
function safeNext(value) {
  if (!value || !value.startsWith("/") || value.startsWith("//")) return "/farm";
  const url = new URL(value, location.origin);
  const { route } = match(url.pathname);
  if (url.origin !== location.origin || route === NOT_FOUND || route.public) return "/farm";
  return url.pathname + url.search;
}

export function navigate(url, { replace = false } = {}) {
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  render({ focus: true });
}

function startSession(value) {
  session = value;
  shell.nav.hidden = false;
  shell.signOut.hidden = false;
  shell.org.hidden = false;
  shell.org.textContent = `Organization ${value.org_id}`;
  if (server.allows(session, "organization:read")) {
    server.api("/v1/organization").then(
      (org) => {
        if (session === value) shell.org.textContent = org.name;
      },
      () => {},
    );
  }
  if (server.allows(session, "printers:read")) live.start();
  else showLive("denied");
}

function endSession(why) {
  session = null;
  server.forgetSession();
  live.stop();
  showLive("off");
  shell.nav.hidden = true;
  shell.signOut.hidden = true;
  shell.org.hidden = true;
  shell.org.textContent = "";
  notice = why || "";
  const here = location.pathname + location.search;
  const next = match(location.pathname).route.public ? "" : `?next=${encodeURIComponent(here)}`;
  navigate(`/sign-in${next}`, { replace: true });
}

function pageContext(route, params) {
  return {
    params,
    session,
    api: server.api,
    apiWithStatus: server.apiWithStatus,
    apiForm: server.apiForm,
    fetchAll: server.fetchAll,
    ApiError: server.ApiError,
    allows: (scope) => server.allows(session, scope),
    navigate,
    routeName: route.name,
    routeTitle: route.title,
    notice: () => {
      const text = notice;
      notice = "";
      return text;
    },
    /** Keep a page's own settings (filters) in the URL, so a bookmark keeps them too. */
    setQuery(values) {
      const query = new URLSearchParams();
      for (const [key, value] of Object.entries(values)) if (value) query.set(key, value);
      const search = query.toString();
      history.replaceState(null, "", location.pathname + (search ? `?${search}` : ""));
    },
    query: () => new URLSearchParams(location.search),
    async signIn(apiKey) {
      startSession(await server.signIn(apiKey));
      navigate(safeNext(new URLSearchParams(location.search).get("next")), { replace: true });
    },
  };
}

async function render({ focus = false } = {}) {
  const seq = ++renderSeq;
  const { route, params } = match(location.pathname);
  if (!route.public && route !== NOT_FOUND && !session) {
    const next = encodeURIComponent(location.pathname + location.search);
    history.replaceState(null, "", `/sign-in?next=${next}`);
    return render({ focus });
  }
  if (route.public && !route.anyone && session) {
    history.replaceState(null, "", safeNext(new URLSearchParams(location.search).get("next")));
    return render({ focus });
  }
  if (location.pathname === "/") history.replaceState(null, "", "/farm" + location.search);
  const module = await route.load();
  if (seq !== renderSeq) return; // a later navigation won
  if (page && page.unmount) page.unmount();
  page = null;
  document.title = `${route.title} — ${PRODUCT}`;
  for (const link of shell.nav.querySelectorAll("a[data-nav]")) {
    if (link.dataset.nav === (route.nav || route.name)) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  shell.main.replaceChildren();
  page = module.mount(shell.main, pageContext(route, params)) || {};
  if (focus) {
    // Tell assistive technology the page changed: focus its heading, as a page load would.
    const heading = shell.main.querySelector("h1");
    (heading || shell.main).focus({ preventScroll: false });
  }
}

function onLinkClick(event) {
  if (event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const link = event.target.closest("a[href]");
  if (!link || link.target || link.hasAttribute("download")) return;
  const url = new URL(link.href, location.href);
  if (url.origin !== location.origin || match(url.pathname).route === NOT_FOUND) return;
  event.preventDefault();
  if (url.pathname + url.search !== location.pathname + location.search) {
    navigate(url.pathname + url.search);
  }
}

async function onSignOut() {
  shell.signOut.disabled = true;
  let why = "You have signed out.";
  try {
    await server.signOut();
  } catch (error) {
    if (!(error instanceof server.ApiError && error.status === 401)) {
      why = `Signing out did not reach the server (${error.message}); the session ends by itself when it expires.`;
    }
  } finally {
    shell.signOut.disabled = false;
  }
  endSession(why);
}

async function boot() {
  server.whenSignedOut(() => {
    if (session) endSession("Your session has ended. Sign in again to continue.");
  });
  document.addEventListener("click", onLinkClick);
  window.addEventListener("popstate", () => render({ focus: true }));
  shell.signOut.addEventListener("click", onSignOut);
  try {
    const found = await server.currentSession();
    if (found) startSession(found);
  } catch (error) {
    notice = `The server could not tell whether you are signed in: ${error.message}`;
  }
  await render();
}

boot();
