// The Settings page: the organization (name, plan, usage, Home Assistant discovery), its
// users and invitations (settings-users.js) and its API keys (settings-keys.js).
//
// Each section shows what the key may read and offers only the writes it may make:
// organization:write for the organization, users:write to invite, admin for API keys (the
// API refuses the others anyway). Nothing here comes with the live feed: the page loads on
// refresh() (the feed (re)connected) and after the user's own changes.

import { el, setText } from "./dom.js";
import { ResultLine, field, when } from "./settings-common.js";
import { KeysSection } from "./settings-keys.js";
import { UsersSection } from "./settings-users.js";

const USAGE = [
  ["printers", "Printers"],
  ["agents", "Agents"],
  ["users", "Users (with pending invitations)"],
  ["storage_bytes", "G-code storage"],
  ["active_jobs", "Active jobs"],
];

function bytes(n) {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit ? value.toFixed(1) : value} ${units[unit]}`;
}

export function mount(root, ctx) {
  return new SettingsPage(root, ctx);
}

class SettingsPage {
  constructor(root, ctx) {
    this.ctx = ctx;
    this.alive = true;
    this.org = null;
    this.users = new UsersSection(ctx);
    this.keys = new KeysSection(ctx, { users: () => this.users.users() });
    root.append(el("h1", { id: "page-title", tabindex: "-1" }, "Settings"), this.buildOrganization(), this.users.root, this.keys.root);
    this.refresh();
  }

  // --- the organization -------------------------------------------------------------------

  buildOrganization() {
    this.orgFacts = el("dl", { class: "org-facts", "data-testid": "organization" });
    this.orgNote = el("p", { class: "hint" });
    this.usage = el("div", { class: "settings-list" });
    const section = el(
      "section",
      { class: "settings-section", "aria-labelledby": "org-title", "data-testid": "section-organization" },
      el("h2", { id: "org-title" }, "Organization"),
    );
    if (!this.ctx.allows("organization:read")) {
      section.append(el("p", { class: "hint" }, "This API key may not see the organization (it needs organization:read)."));
      return section;
    }
    section.append(this.orgNote, this.orgFacts, this.usage);
    if (this.ctx.allows("organization:write")) section.append(this.buildOrgForm());
    return section;
  }

  buildOrgForm() {
    this.nameInput = el("input", { id: "org-name", type: "text", required: true, maxlength: "200", autocomplete: "organization", "data-testid": "org-name" });
    this.haBox = el("input", { id: "org-ha", type: "checkbox", "data-testid": "org-home-assistant" });
    this.saveButton = el("button", { type: "submit", class: "button primary", "data-testid": "org-save" }, "Save");
    this.orgResult = new ResultLine("org-result");
    const form = el(
      "form",
      { class: "settings-form", "aria-labelledby": "org-form-title", novalidate: true },
      el("h3", { id: "org-form-title" }, "Change the organization"),
      field("org-name", "Name", this.nameInput),
      el(
        "div",
        { class: "field checkbox" },
        this.haBox,
        el("label", { for: "org-ha" }, "Publish the printers to Home Assistant (MQTT discovery)"),
      ),
      el("div", { class: "form-actions" }, this.saveButton),
      this.orgResult.root,
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.saveOrganization();
    });
    return el("div", { class: "settings-block" }, form);
  }

  async saveOrganization() {
    this.orgResult.clear();
    const name = this.nameInput.value.trim();
    if (!name) {
      this.orgResult.error("The organization needs a name.");
      this.nameInput.focus();
      return;
    }
    const changes = {};
    if (!this.org || name !== this.org.name) changes.name = name;
    if (!this.org || this.haBox.checked !== this.org.home_assistant_enabled) changes.home_assistant_enabled = this.haBox.checked;
    if (!Object.keys(changes).length) {
      this.orgResult.ok("Nothing to change.");
      return;
    }
    this.saveButton.disabled = true;
    try {
      this.showOrganization(await this.ctx.api("/v1/organization", { method: "PATCH", body: changes }), { form: true });
      this.orgResult.ok("Saved.");
      const header = document.getElementById("session-org"); // the shell's organization name
      if (header && changes.name) header.textContent = this.org.name;
    } catch (error) {
      if (error.status !== 401) this.orgResult.error(`Not saved: ${error.message}`);
    } finally {
      this.saveButton.disabled = false;
    }
  }

  showOrganization(org, { form = false } = {}) {
    const first = this.org === null;
    this.org = org;
    const fact = (name, value, testid) => [el("dt", {}, name), el("dd", { "data-testid": testid }, value)];
    this.orgFacts.replaceChildren(
      ...fact("Name", org.name, "org-name-shown"),
      ...fact("Plan", org.plan, "org-plan"),
      ...fact("Home Assistant discovery", org.home_assistant_enabled ? "On" : "Off", "org-ha-shown"),
      ...fact("Created", when(org.created_at), "org-created"),
      ...fact("ID", el("code", {}, org.id), "org-id"),
    );
    const limit = (key, value) => (value === null ? "unlimited" : key === "storage_bytes" ? bytes(value) : String(value));
    const used = (key, value) => (key === "storage_bytes" ? bytes(value) : String(value));
    this.usage.replaceChildren(
      el(
        "table",
        { class: "settings-table usage-table" },
        el("caption", {}, "Usage of the plan"),
        el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "What"), el("th", { scope: "col" }, "Used"), el("th", { scope: "col" }, "Limit"))),
        el(
          "tbody",
          {},
          ...USAGE.map(([key, name]) =>
            el(
              "tr",
              {},
              el("th", { scope: "row" }, name),
              el("td", { "data-label": "Used" }, used(key, org.usage[key])),
              el("td", { "data-label": "Limit" }, limit(key, org.limits[key])),
            ),
          ),
        ),
      ),
    );
    // Fill the form from the server the first time and after a save, never over an edit.
    if (this.nameInput && (first || form)) {
      this.nameInput.value = org.name;
      this.haBox.checked = org.home_assistant_enabled;
    }
  }

  async loadOrganization() {
    if (!this.ctx.allows("organization:read")) return;
    try {
      const org = await this.ctx.api("/v1/organization");
      if (!this.alive) return;
      setText(this.orgNote, "");
      this.showOrganization(org);
    } catch (error) {
      if (this.alive && error.status !== 401) setText(this.orgNote, `The organization could not be loaded: ${error.message}`);
    }
  }

  // --- the page ---------------------------------------------------------------------------

  async refresh() {
    await Promise.all([
      this.loadOrganization(),
      // The keys name their users: the users first.
      this.users.load().then(() => this.alive && this.keys.load()),
    ]);
  }

  unmount() {
    this.alive = false;
    this.keys.close();
    this.users.close();
  }
}
