// The dashboard's only way to the server: the session endpoints and the /v1 API, same
// origin, with the HttpOnly session cookie (this script never sees it). Every write carries
// the session's CSRF token, which lives in this module's memory only: never in storage,
// a URL or the page.

const SESSION_URL = "/dashboard/api/session";
const MAX_PER_PAGE = 100; // the API's limit for `per_page`

let csrfToken = null;
let onSignedOut = () => {};

/** A failed request, with the API's error envelope `{"error": {"code", "message", "param"}}`
 * (`param`: the one field at fault, when the API names it; else null). */
export class ApiError extends Error {
  constructor(status, code, message, param = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.param = param;
  }
}

/** Called when the API answers 401 to a signed-in page: the session has ended. */
export function whenSignedOut(callback) {
  onSignedOut = callback;
}

async function errorOf(response) {
  let code = "http_" + response.status;
  let message = `The server answered ${response.status} ${response.statusText}.`;
  let param = null;
  try {
    const body = await response.json();
    if (body && body.error) {
      code = body.error.code || code;
      message = body.error.message || message;
      param = body.error.param || null;
    }
  } catch {
    // Not JSON (a proxy's error page): keep the status line.
  }
  return new ApiError(response.status, code, message, param);
}

async function send(method, url, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && csrfToken) headers["X-CSRF-Token"] = csrfToken;
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "network_error", "The server could not be reached. Check the connection and try again.");
  }
  if (!response.ok) throw await errorOf(response);
  if (response.status === 204) return null;
  return { status: response.status, body: await response.json() };
}

/** `GET`/`POST`/… a /v1 URL; resolves to the parsed body (null for 204). */
export async function api(url, { method = "GET", body } = {}) {
  try {
    const answer = await send(method, url, body);
    return answer && answer.body;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) onSignedOut(error);
    throw error;
  }
}

/** Like `api`, also telling the HTTP status (202 "accepted" versus 200 "done"). */
export async function apiWithStatus(url, { method = "GET", body } = {}) {
  try {
    return await send(method, url, body);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) onSignedOut(error);
    throw error;
  }
}

/** `POST` a multipart form (a file upload) to a /v1 URL, with the CSRF token; resolves to
 * the parsed body. The browser sets the multipart boundary itself. */
export async function apiForm(url, form, { method = "POST" } = {}) {
  const headers = { Accept: "application/json" };
  if (csrfToken) headers["X-CSRF-Token"] = csrfToken;
  let response;
  try {
    response = await fetch(url, { method, headers, credentials: "same-origin", body: form });
  } catch {
    throw new ApiError(0, "network_error", "The server could not be reached. Check the connection and try again.");
  }
  if (!response.ok) {
    const error = await errorOf(response);
    if (error.status === 401) onSignedOut(error);
    throw error;
  }
  return response.status === 204 ? null : response.json();
}

/** Every item of a paged /v1 list (`data`, `pagination.total_pages`). */
export async function fetchAll(path, params = {}) {
  const items = [];
  for (let page = 1; ; page += 1) {
    const query = new URLSearchParams({ ...params, page: String(page), per_page: String(MAX_PER_PAGE) });
    const answer = await api(`${path}?${query}`);
    items.push(...answer.data);
    if (page >= (answer.pagination.total_pages || 0)) return items;
  }
}

// --- the session ------------------------------------------------------------------------

function remember(session) {
  csrfToken = session.csrf_token;
  return session;
}

/** The current session, or null when this browser is not signed in. */
export async function currentSession() {
  try {
    const answer = await send("GET", SESSION_URL);
    return remember(answer.body);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return null;
    throw error;
  }
}

/** Exchange an API key for a session cookie; the key goes in the body, nowhere else. */
export async function signIn(apiKey) {
  const answer = await send("POST", SESSION_URL, { api_key: apiKey });
  return remember(answer.body);
}

export async function signOut() {
  try {
    await send("DELETE", SESSION_URL);
  } finally {
    csrfToken = null;
  }
}

export function forgetSession() {
  csrfToken = null;
}

/** What the key may do, as the server decides it (cloud/auth/keys.py `Principal.allows`):
 * `admin` allows everything, `x:write` includes `x:read`. */
export function allows(session, scope) {
  if (!session) return false;
  const scopes = session.scopes || [];
  if (scopes.includes("admin") || scopes.includes(scope)) return true;
  const [resource, action] = scope.split(":");
  return action === "read" && scopes.includes(`${resource}:write`);
}
