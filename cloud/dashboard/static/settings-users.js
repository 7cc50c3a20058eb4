// The Settings page's users (/v1/users) and invitations (/v1/invitations): the members with
// their roles and the open invitations; for a key with users:write, a form that invites
// someone and shows the invitation's link (with its token) once, and a Revoke button on each
// open invitation.

import { el } from "./dom.js";
import { ConfirmDialog } from "./forms.js";
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
    this.pending = el("div", { class: "settings-list", "data-testid": "invitations" });
    this.pendingNote = el("p", { class: "hint" });
    this.root.append(this.listNote, this.list, this.pendingNote, this.pending);
    if (this.canInvite) {
      this.dialog = new ConfirmDialog(this.root, "revoke-invitation-dialog");
      this.root.append(this.buildInvite());
    }
    this.root.append(
      el(
        "p",
        { class: "hint", "data-testid": "invitations-note" },
        "An invitation's link is shown once, when it is made, and is good for 7 days; revoking the invitation stops it at once.",
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
      await this.loadInvitations();
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
    await this.loadInvitations();
  }

  /** The invitations not accepted yet and not expired; each with Revoke for users:write. */
  async loadInvitations() {
    let open;
    try {
      open = await this.ctx.fetchAll("/v1/invitations", { sort: "created_at" });
    } catch (error) {
      if (error.status !== 401) this.pendingNote.textContent = `The invitations could not be loaded: ${error.message}`;
      return;
    }
    this.pendingNote.textContent = open.length ? "" : "No open invitations.";
    if (!open.length) {
      this.pending.replaceChildren();
      return;
    }
    const headings = ["Email", "Role", "Invited by", "Good until"].concat(this.canInvite ? ["Actions"] : []);
    const row = (inv) => {
      const inviter = this.byId.get(inv.invited_by);
      const line = el(
        "tr",
        { "data-invitation-id": inv.id, "data-testid": "invitation" },
        cell("Email", inv.email),
        cell("Role", inv.role),
        cell("Invited by", inviter ? inviter.name || inviter.email : "—"),
        cell("Good until", when(inv.expires_at)),
      );
      if (this.canInvite) {
        const revoke = el("button", { type: "button", class: "button danger-outline", "data-action": "revoke-invitation" }, "Revoke");
        const result = el("p", { class: "row-result", role: "status" });
        revoke.addEventListener("click", () => this.revoke(inv, revoke, result));
        line.append(cell("Actions", el("div", {}, revoke, result)));
      }
      return line;
    };
    this.pending.replaceChildren(
      el(
        "table",
        { class: "settings-table users-table" },
        el("caption", {}, `Open invitations (${open.length})`),
        el("thead", {}, el("tr", {}, ...headings.map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, ...open.map(row)),
      ),
    );
  }

  revoke(inv, button, result) {
    const question = {
      title: "Revoke this invitation?",
      text: `The invitation for ${inv.email} (${inv.role}) stops working at once: its link can no longer be used to join.`,
      yes: "Revoke invitation",
      no: "Keep it",
    };
    return this.dialog.confirmThen(question, { button, result, failed: "Not revoked" }, async () => {
      await this.ctx.api(`/v1/invitations/${encodeURIComponent(inv.id)}`, { method: "DELETE" });
      this.result.ok(`The invitation for ${inv.email} was revoked.`);
      await this.loadInvitations();
    });
  }

  close() {
    if (this.dialog) this.dialog.close();
  }
}
