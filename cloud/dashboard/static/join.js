// Join (/join#token=…): the invitee accepts an invitation and gets an API key of their own.
//
// The link an admin sends carries the token in the URL's fragment, which the browser never
// sends to a server (no access log or proxy sees it); the page takes it from there and
// removes it from the address bar at once. POST /v1/invitations/accept needs no API key:
// the token is the credential. The new key is shown once, then exchanged for a session.

import { el } from "./dom.js";
import { OnceBox, field } from "./settings-common.js";

/** The token in `#token=…` (removed from the address bar), or "". */
function takeToken() {
  const token = new URLSearchParams(location.hash.slice(1)).get("token") || "";
  if (location.hash) history.replaceState(null, "", location.pathname + location.search);
  return token.trim();
}

export function mount(root, ctx) {
  const fromLink = takeToken();
  const token = el("input", {
    id: "join-token",
    type: "password",
    autocomplete: "off",
    spellcheck: "false",
    required: true,
    maxlength: "100",
    "data-testid": "join-token",
  });
  token.value = fromLink;
  const name = el("input", { id: "join-name", type: "text", autocomplete: "name", maxlength: "200", "data-testid": "join-name" });
  const submit = el("button", { type: "submit", class: "button primary", "data-testid": "join-accept" }, "Join");
  const error = el("p", { class: "form-error", role: "alert", "data-testid": "join-error" });
  const once = new OnceBox({ testid: "join-key", title: "Your API key", label: "Your API key" });
  const proceed = el("button", { type: "button", class: "button primary", hidden: true, "data-testid": "join-continue" }, "Continue to the dashboard");
  const form = el(
    "form",
    { class: "sign-in-form", novalidate: true },
    fromLink
      ? el("p", { class: "hint", "data-testid": "join-from-link" }, "The invitation comes with this link.")
      : field("join-token", "Invitation token", token, "The token from the invitation (it starts with inv_)."),
    field("join-name", "Your name", name, "How the others in the organization will see you."),
    submit,
  );
  root.append(
    el(
      "section",
      { class: "sign-in", "aria-labelledby": "join-title" },
      el("h1", { id: "join-title", tabindex: "-1" }, "Join an organization"),
      form,
      error,
      once.root,
      proceed,
    ),
  );

  let key = "";
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = token.value.trim();
    if (!value) {
      error.textContent = "Enter the invitation's token.";
      token.focus();
      return;
    }
    submit.disabled = true;
    error.textContent = "";
    try {
      const accepted = await ctx.api("/v1/invitations/accept", {
        method: "POST",
        body: { token: value, name: name.value.trim() },
      });
      key = accepted.api_key.key;
      token.value = "";
      form.hidden = true;
      once.show(
        key,
        `You joined as ${accepted.user.email} (${accepted.user.role}). This is your API key: it is not shown again. ` +
          "Keep it in a password manager; you sign in with it, and programs can use it too.",
      );
      proceed.hidden = false;
    } catch (failure) {
      error.textContent = failure.message || "The invitation could not be accepted.";
      submit.disabled = false;
    }
  });

  proceed.addEventListener("click", async () => {
    proceed.disabled = true;
    try {
      await ctx.signIn(key);
    } catch (failure) {
      error.textContent = failure.message || "Sign-in failed; sign in with the key above.";
      proceed.disabled = false;
    }
  });

  return {};
}
