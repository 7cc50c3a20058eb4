// The Settings page's users (/v1/users) and invitations (POST /v1/users/invite): the list
// of members with their roles, and, for a key with users:write, a form that invites someone
// and shows the invitation's link (with its token) once.

import { el } from "./dom.js";
import { OnceBox, ResultLine, cell, field, when } from "./settings-common.js";

const ROLES = [
  ["viewer", "Viewer — sees everything, changes nothing"],
  ["member", "Member — runs the farm: printers, jobs, materials"],
  ["admin", "Admin — everything, API keys included"],
];

export class UsersSection {
  constructor(ctx) {
    this.ctx = ctx;
    this.byId = new Map();
    this.canRead = ctx.allows("users:read");
    this.canInvite = ctx.allows("users:write");
    this.list = el("div", { class: "settings-list", "data-testid": "users" });
    this.listNote = el("p", { class: "hint" });
    this.root = el(
      "section",
      { class: "settings-section", "aria-labelledby": "users-title", "data-testid": "section-users" },
      el("h2", { id: "users-title" }, "Users and invitations"),
    );
    if (!this.canRead) {
      this.root.append(el("p", { class: "hint" }, "This API key may not see the organization's users (it needs users:read)."));
      return;
    }
    this.root.append(this.listNote, this.list);
    if (this.canInvite) this.root.append(this.buildInvite());
    this.root.append(
      el(
        "p",
        { class: "hint", "data-testid": "invitations-note" },
        "Pending invitations are not listed: the API does not list them yet. An invitation's link is shown once, when it is made, and is good for 7 days.",
      ),
    );
  }

  buildInvite() {
    this.email = el("input", { id: "invite-email", type: "email", required: true, autocomplete: "off", maxlength: "320", "data-testid": "invite-email" });
    this.role = el("select", { id: "invite-role", "data-testid": "invite-role" }, ...ROLES.map(([value, label]) => el("option", { value }, label)));
    this.role.value = "member";
    this.inviteButton = el("button", { type: "submit", class: "button primary", "data-testid": "invite-send" }, "Invite");
    this.result = new ResultLine("invite-result");
    this.once = new OnceBox({ testid: "invitation-link", title: "The invitation's link", label: "The invitation's link" });
    const form = el(
      "form",
      { class: "settings-form invite-form", "aria-labelledby": "invite-title", novalidate: true },
      el("h3", { id: "invite-title" }, "Invite someone"),
      el(
        "div",
        { class: "form-row" },
        field("invite-email", "Email", this.email),
        field("invite-role", "Role", this.role),
      ),
      el("div", { class: "form-actions" }, this.inviteButton),
      this.result.root,
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.invite();
    });
    return el("div", { class: "settings-block" }, form, this.once.root);
  }

  async invite() {
    this.result.clear();
    const email = this.email.value.trim();
    if (!this.email.checkValidity() || !email) {
      this.result.error("Give the email address of the person to invite.");
      this.email.focus();
      return;
    }
    this.inviteButton.disabled = true;
    try {
      const made = await this.ctx.api("/v1/users/invite", { method: "POST", body: { email, role: this.role.value } });
      // The token rides in the fragment, which browsers never send to a server (join.js).
      const link = `${location.origin}/join#token=${encodeURIComponent(made.token)}`;
      this.once.show(
        link,
        `Send this link to ${made.email} (${made.role}). It is not shown again, and is good until ${when(made.expires_at)}. ` +
          "Opening it, they choose a name and get an API key of their own to sign in with. " +
          "(The token is the part after #token=, for POST /v1/invitations/accept.)",
      );
      this.result.ok(`Invitation made for ${made.email}.`);
      this.email.value = "";
    } catch (error) {
      if (error.status !== 401) this.result.error(`Not invited: ${error.message}`);
    } finally {
      this.inviteButton.disabled = false;
    }
  }

  /** The users by id (for the API keys' owners). */
  users() {
    return this.byId;
  }

  async load() {
    if (!this.canRead) return;
    try {
      const users = await this.ctx.fetchAll("/v1/users", { sort: "created_at" });
      this.byId = new Map(users.map((u) => [u.id, u]));
      this.listNote.textContent = "";
      this.list.replaceChildren(
        el(
          "table",
          { class: "settings-table users-table" },
          el("caption", {}, `Members (${users.length})`),
          el("thead", {}, el("tr", {}, ...["Name", "Email", "Role", "Member since"].map((h) => el("th", { scope: "col" }, h)))),
          el(
            "tbody",
            {},
            ...users.map((u) =>
              el(
                "tr",
                { "data-user-id": u.id, "data-testid": "user" },
                cell("Name", u.name || "—"),
                cell("Email", u.email),
                cell("Role", u.role),
                cell("Member since", when(u.created_at)),
              ),
            ),
          ),
        ),
      );
    } catch (error) {
      if (error.status !== 401) this.listNote.textContent = `The users could not be loaded: ${error.message}`;
    }
  }
}
