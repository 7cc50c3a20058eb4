// The Settings page's API keys (admin scope: /v1/api-keys): the list with each key's last
// use, a form to create one (scopes as checkboxes, read and write per resource, and admin),
// the new key shown once, and revocation after a confirmation.

import { el } from "./dom.js";
import { ConfirmDialog } from "./forms.js";
import { OnceBox, ResultLine, cell, field, when } from "./settings-common.js";

export const RESOURCES = [
  ["printers", "Printers"],
  ["jobs", "Jobs"],
  ["materials", "Materials"],
  ["organization", "Organization"],
  ["users", "Users"],
  ["agents", "Agents"],
  ["analytics", "Analytics"],
  ["webhooks", "Webhooks"],
];
const ADMIN = "admin";

/** A key's scopes in a few words: admin, or each resource once with what it may do. */
export function describeScopes(scopes) {
  if (scopes.includes(ADMIN)) return "admin (everything)";
  const parts = [];
  for (const [resource] of RESOURCES) {
    if (scopes.includes(`${resource}:write`)) parts.push(`${resource}: read, write`);
    else if (scopes.includes(`${resource}:read`)) parts.push(`${resource}: read`);
  }
  return parts.join(" · ") || "none";
}

export class KeysSection {
  /** users(): the organization's users by id (for each key's owner), when readable. */
  constructor(ctx, { users }) {
    this.ctx = ctx;
    this.users = users;
    this.keys = [];
    this.canManage = ctx.allows(ADMIN);
    this.list = el("div", { class: "settings-list", "data-testid": "api-keys" });
    this.listNote = el("p", { class: "hint" });
    this.root = el(
      "section",
      { class: "settings-section", "aria-labelledby": "keys-title", "data-testid": "section-api-keys" },
      el("h2", { id: "keys-title" }, "API keys"),
    );
    if (!this.canManage) {
      this.root.append(el("p", { class: "hint" }, "Only a key with the admin scope can see and manage the organization's API keys."));
      return;
    }
    this.dialog = new ConfirmDialog(this.root, "revoke-dialog");
    this.root.append(this.listNote, this.list, this.buildForm());
  }

  buildForm() {
    this.nameInput = el("input", { id: "key-name", type: "text", maxlength: "200", autocomplete: "off", "data-testid": "key-name" });
    this.scopeBoxes = new Map();
    const box = (scope, label) => {
      const id = `scope-${scope.replace(":", "-")}`;
      const input = el("input", { type: "checkbox", id, value: scope, "data-testid": `scope-${scope}` });
      this.scopeBoxes.set(scope, input);
      return el("span", { class: "scope-choice" }, input, el("label", { for: id }, label));
    };
    const rows = RESOURCES.map(([resource, name]) =>
      el(
        "div",
        { class: "scope-row", role: "group", "aria-label": name },
        el("span", { class: "scope-name", "aria-hidden": "true" }, name),
        box(`${resource}:read`, "Read"),
        box(`${resource}:write`, "Write"),
      ),
    );
    this.scopeError = el("p", { class: "form-error", id: "scopes-error" });
    const scopes = el(
      "fieldset",
      { class: "scopes", "aria-describedby": "scopes-hint scopes-error" },
      el("legend", {}, "What the key may do"),
      el("p", { class: "hint", id: "scopes-hint" }, "Write includes read. Admin allows everything, managing API keys included."),
      ...rows,
      el("div", { class: "scope-row admin" }, box(ADMIN, "Admin (everything)")),
      this.scopeError,
    );
    this.createButton = el("button", { type: "submit", class: "button primary", "data-testid": "key-create" }, "Create key");
    this.result = new ResultLine("key-result");
    this.once = new OnceBox({ testid: "new-key", title: "Your new API key", label: "The new API key" });
    const form = el(
      "form",
      { class: "settings-form", "aria-labelledby": "key-form-title", novalidate: true },
      el("h3", { id: "key-form-title" }, "Create a key"),
      field("key-name", "Name (optional)", this.nameInput, "Where the key is used, e.g. \"wall display\"."),
      scopes,
      el("div", { class: "form-actions" }, this.createButton),
      this.result.root,
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.create();
    });
    return el("div", { class: "settings-block" }, form, this.once.root);
  }

  async create() {
    const scopes = [...this.scopeBoxes].filter(([, input]) => input.checked).map(([scope]) => scope);
    this.scopeError.textContent = "";
    this.result.clear();
    if (!scopes.length) {
      this.scopeError.textContent = "Choose at least one thing the key may do.";
      this.scopeBoxes.get("printers:read").focus();
      return;
    }
    this.createButton.disabled = true;
    try {
      const made = await this.ctx.api("/v1/api-keys", { method: "POST", body: { scopes, name: this.nameInput.value.trim() } });
      this.once.show(
        made.key,
        `Copy the key ${made.name ? `"${made.name}" ` : ""}now and keep it somewhere safe: it is not shown again. ` +
          "Only its first characters are kept readable.",
      );
      this.result.ok(`Key ${made.prefix}… created: ${describeScopes(made.scopes)}.`);
      this.nameInput.value = "";
      for (const input of this.scopeBoxes.values()) input.checked = false;
      await this.load();
    } catch (error) {
      if (error.status !== 401) this.result.error(`The key was not created: ${error.message}`);
    } finally {
      this.createButton.disabled = false;
    }
  }

  async load() {
    if (!this.canManage) return;
    try {
      this.keys = await this.ctx.fetchAll("/v1/api-keys", { sort: "-created_at" });
      this.listNote.textContent = "";
      this.render();
    } catch (error) {
      if (error.status !== 401) this.listNote.textContent = `The keys could not be loaded: ${error.message}`;
    }
  }

  render() {
    const ownKey = this.ctx.session && this.ctx.session.key_id;
    const live = this.keys.filter((k) => !k.revoked);
    const revoked = this.keys.filter((k) => k.revoked);
    const row = (key) => {
      const owner = this.users().get(key.user_id);
      const cells = [
        cell(
          "Name",
          el("div", {}, el("span", { class: "key-name" }, key.name || "(no name)"), key.id === ownKey ? el("span", { class: "tag" }, "this browser's key") : null),
        ),
        cell("Prefix", el("code", {}, `${key.prefix}…`)),
        cell("May", describeScopes(key.scopes)),
        cell("For user", owner ? owner.name || owner.email : key.user_id || "—"),
        cell("Created", when(key.created_at)),
        cell("Last used", key.last_used_at ? when(key.last_used_at) : "Never"),
        cell("Status", key.revoked ? `Revoked ${when(key.revoked_at)}` : "Active"),
      ];
      const line = el("tr", { "data-key-id": key.id, "data-testid": "api-key" }, ...cells);
      const actions = cell("Actions");
      if (!key.revoked) {
        const revoke = el("button", { type: "button", class: "button danger-outline", "data-action": "revoke-key" }, "Revoke");
        const result = el("p", { class: "row-result", role: "status" });
        revoke.addEventListener("click", () => this.revoke(key, revoke, result));
        actions.append(el("div", {}, revoke, result));
      }
      line.append(actions);
      return line;
    };
    const table = (caption, keys) =>
      el(
        "table",
        { class: "settings-table keys-table" },
        el("caption", {}, caption),
        el(
          "thead",
          {},
          el("tr", {}, ...["Name", "Prefix", "May", "For user", "Created", "Last used", "Status", "Actions"].map((h) => el("th", { scope: "col" }, h))),
        ),
        el("tbody", {}, ...keys.map(row)),
      );
    this.list.replaceChildren(
      table(`Active keys (${live.length})`, live),
      revoked.length ? el("details", { class: "revoked-keys" }, el("summary", {}, `Revoked keys (${revoked.length})`), table("Revoked keys", revoked)) : null,
    );
  }

  revoke(key, button, result) {
    const own = this.ctx.session && key.id === this.ctx.session.key_id;
    const name = key.name ? `"${key.name}" (${key.prefix}…)` : `${key.prefix}…`;
    const question = {
      title: "Revoke this API key?",
      text:
        `The key ${name} stops working at once, and every dashboard signed in with it is signed out. This cannot be undone.` +
        (own ? " It is the key this browser is signed in with: you will be signed out too." : ""),
      yes: "Revoke key",
      no: "Keep the key",
    };
    return this.dialog.confirmThen(question, { button, result, failed: "Not revoked" }, async () => {
      await this.ctx.api(`/v1/api-keys/${encodeURIComponent(key.id)}`, { method: "DELETE" });
      this.result.ok(`Key ${key.prefix}… revoked.`);
      await this.load(); // for the browser's own key this answers 401: the shell signs out
    });
  }

  close() {
    if (this.dialog) this.dialog.close();
  }
}
