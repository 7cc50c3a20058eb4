// Sign in: the API key is sent once, in the body of POST /dashboard/api/session, and the
// field is emptied at once: the key never stays in the page, a URL or the browser's storage.

import { el } from "./dom.js";

export function mount(root, ctx) {
  const notice = ctx.notice();
  const input = el("input", {
    id: "api-key",
    name: "api-key",
    type: "password",
    autocomplete: "off",
    spellcheck: "false",
    autocapitalize: "off",
    required: true,
    "aria-describedby": "api-key-help",
    "data-testid": "api-key",
  });
  const submit = el("button", { type: "submit", class: "button primary", "data-testid": "sign-in" }, "Sign in");
  const error = el("p", { id: "sign-in-error", class: "form-error", role: "alert" });
  const form = el(
    "form",
    { class: "sign-in-form", novalidate: true },
    el("label", { for: "api-key" }, "API key"),
    input,
    el(
      "p",
      { id: "api-key-help", class: "hint" },
      "An API key of your organization (it starts with apf_). It is exchanged for a sign-in cookie and not kept by this page.",
    ),
    error,
    submit,
  );
  root.append(
    el(
      "section",
      { class: "sign-in", "aria-labelledby": "sign-in-title" },
      el("h1", { id: "sign-in-title", tabindex: "-1" }, "Sign in"),
      notice ? el("p", { class: "notice", role: "status" }, notice) : null,
      form,
    ),
  );

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const key = input.value.trim();
    input.value = "";
    if (!key) {
      show("Enter an API key.");
      return;
    }
    submit.disabled = true;
    submit.textContent = "Signing in…";
    show("");
    try {
      await ctx.signIn(key);
    } catch (failure) {
      show(failure.message || "Sign-in failed.");
      submit.disabled = false;
      submit.textContent = "Sign in";
      input.focus();
    }
  });

  function show(text) {
    error.textContent = text;
    input.setAttribute("aria-invalid", text ? "true" : "false");
  }

  return {};
}
