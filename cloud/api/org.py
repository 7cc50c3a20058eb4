"""`/v1/organization`, `/v1/users` and the invitations (`/v1/invitations`: the open ones
listed and revoked, and accepting one)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.api.deps import Svc, app_context
from cloud.api.listing import (
    DEFAULT_PER_PAGE,
    page_of,
    page_request,
    parse_fields,
    reject_unknown_query,
)
from cloud.api.openapi import IDEMPOTENCY_ERRORS, errors
from cloud.api.params import (
    JSON_BODY_MAX_BYTES,
    IdempotencyKey,
    Page,
    PerPage,
    fields_query,
    sort_query,
)
from cloud.schemas.org import (
    INVITATION_FIELDS,
    USER_FIELDS,
    InvitationAccepted,
    InvitationAcceptIn,
    InvitationOut,
    InvitationPage,
    InviteIn,
    OrganizationOut,
    OrganizationPatch,
    Role,
    UserOut,
    UserPage,
)
from cloud.services.invitations import accept_invitation
from cloud.services.org import (
    INVITATION_SORTABLE,
    USER_SORTABLE,
    InvitationService,
    OrganizationService,
    UserService,
)


class OrganizationController(Controller):
    path = "/v1/organization"
    tags = ["organization"]  # noqa: RUF012
    request_max_body_size = JSON_BODY_MAX_BYTES

    @get("/", opt={"scope": "organization:read"}, responses=errors())
    async def get_organization(self, svc: Svc) -> OrganizationOut:
        """The caller's organization, its plan limits and current usage."""
        return await OrganizationService(svc).get()

    @patch("/", opt={"scope": "organization:write"}, responses=errors())
    async def update_organization(
        self, request: Request[Any, Any, Any], svc: Svc, data: JSONBody[OrganizationPatch]
    ) -> OrganizationOut:
        """Change the name, or turn Home Assistant discovery on or off
        (`home_assistant_enabled`: the cloud publishes, or removes, the printers' entities)."""
        out = await OrganizationService(svc).patch(data)
        app_context(request).kick("organization changed")  # Home Assistant follows at once
        return out


class UserController(Controller):
    path = "/v1/users"
    tags = ["users"]  # noqa: RUF012
    request_max_body_size = JSON_BODY_MAX_BYTES

    @get("/", opt={"scope": "users:read"}, responses=errors())
    async def list_users(
        self,
        *,
        request: Request[Any, Any, Any],
        svc: Svc,
        role: FromQuery[Role | None] = None,
        page: Page = 1,
        per_page: PerPage = DEFAULT_PER_PAGE,
        sort: Annotated[str | None, sort_query(USER_SORTABLE)] = None,
        fields: Annotated[str | None, fields_query(USER_FIELDS)] = None,
    ) -> UserPage:
        """List users. Sortable: email, name, role, created_at."""
        reject_unknown_query(request.query_params, ("role", "page", "per_page", "sort", "fields"))
        wanted = parse_fields(fields, USER_FIELDS)
        req = page_request(page, per_page, sort, USER_SORTABLE, "created_at")
        items, total = await UserService(svc).list(req, role=role)
        return page_of(UserPage, items, wanted, req, total)

    @get("/{user_id:str}", opt={"scope": "users:read"}, responses=errors())
    async def get_user(self, svc: Svc, user_id: FromPath[str]) -> UserOut:
        return await UserService(svc).get(user_id)

    @post("/invite", opt={"scope": "users:write"}, responses=errors(*IDEMPOTENCY_ERRORS))
    async def invite_user(
        self, svc: Svc, data: JSONBody[InviteIn], idempotency_key: IdempotencyKey = None
    ) -> InvitationOut:
        """Invite someone by email with a role; the returned token is shown once."""
        return await UserService(svc).invite(data)


class InvitationController(Controller):
    path = "/v1/invitations"
    tags = ["users"]  # noqa: RUF012
    request_max_body_size = JSON_BODY_MAX_BYTES

    @get("/", opt={"scope": "users:read"}, responses=errors())
    async def list_invitations(
        self,
        *,
        request: Request[Any, Any, Any],
        svc: Svc,
        page: Page = 1,
        per_page: PerPage = DEFAULT_PER_PAGE,
        sort: Annotated[str | None, sort_query(INVITATION_SORTABLE)] = None,
        fields: Annotated[str | None, fields_query(INVITATION_FIELDS)] = None,
    ) -> InvitationPage:
        """The invitations not accepted yet and not expired (tokens are never shown again).
        Sortable: email, role, created_at, expires_at."""
        reject_unknown_query(request.query_params, ("page", "per_page", "sort", "fields"))
        wanted = parse_fields(fields, INVITATION_FIELDS)
        req = page_request(page, per_page, sort, INVITATION_SORTABLE, "created_at")
        items, total = await InvitationService(svc).pending(req)
        return page_of(InvitationPage, items, wanted, req, total)

    @delete("/{invitation_id:str}", opt={"scope": "users:write"}, responses=errors())
    async def revoke_invitation(self, svc: Svc, invitation_id: FromPath[str]) -> None:
        """Revoke an invitation not accepted yet: its link and token stop working at once,
        and its place in the plan's user count is free again."""
        await InvitationService(svc).revoke(invitation_id)

    # No scope: the invitee has no API key yet; the invitation's token is the credential.
    @post(
        "/accept",
        responses=errors(
            (409, "invalid_request: the invitation was accepted already, or the email is a member"),
            keyed=False,
        ),
    )
    async def accept_invitation(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        data: JSONBody[InvitationAcceptIn],
    ) -> InvitationAccepted:
        """Accept an invitation with its `token` (no `Authorization` needed). Creates the
        user with the invitation's role and returns its first API key, shown once. A token
        works once and for 7 days; unknown → 404, expired → 400, used → 409."""
        return await accept_invitation(db_session, app_context(request).write_lock, data)
