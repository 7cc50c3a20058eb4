"""The organization's resources for the blocking `Client`: webhooks, organization, users,
agents and API keys (``client.webhooks`` …). The printing side is in `resources.sync`.
"""

from __future__ import annotations

from collections.abc import Sequence

from autoprintfarm import models as m
from autoprintfarm._core import Call, body, path
from autoprintfarm.pagination import SyncPage
from autoprintfarm.resources import _calls as c
from autoprintfarm.resources._calls import NOT_GIVEN, Fields, NotGiven
from autoprintfarm.resources.sync import _Resource


class Webhooks(_Resource):
    def list(
        self,
        *,
        enabled: bool | None = None,
        page: int | None = None,
        per_page: int | None = None,
        sort: str | None = None,
        fields: Fields | None = None,
    ) -> SyncPage[m.Webhook]:
        params = c.list_query(page, per_page, sort, fields, enabled=enabled)
        return self._client._page(c.WEBHOOKS, params, m.Webhook)

    def get(self, webhook_id: str) -> m.Webhook:
        return self._client._request(Call("GET", path("v1", "webhooks", webhook_id)), m.Webhook)

    def create(
        self,
        *,
        url: str,
        events: Sequence[str],
        secret: str | None = None,
        enabled: bool | None = None,
        idempotency_key: str | None = None,
    ) -> m.Webhook:
        """Register an endpoint. The answer carries ``secret`` (yours, or a generated
        ``whsec_…``): store it now, it is never returned again."""
        call = c.webhook_create(
            url=url,
            events=events,
            secret=secret,
            enabled=enabled,
            idempotency_key=idempotency_key,
        )
        return self._client._request(call, m.Webhook)

    def update(
        self,
        webhook_id: str,
        *,
        url: str | NotGiven = NOT_GIVEN,
        events: Sequence[str] | NotGiven = NOT_GIVEN,
        secret: str | NotGiven = NOT_GIVEN,
        enabled: bool | NotGiven = NOT_GIVEN,
    ) -> m.Webhook:
        payload = c.changes(
            url=url,
            events=list(events) if not isinstance(events, NotGiven) else events,
            secret=secret,
            enabled=enabled,
        )
        call = Call("PATCH", path("v1", "webhooks", webhook_id), json=payload)
        return self._client._request(call, m.Webhook)

    def delete(self, webhook_id: str) -> None:
        self._client._request_empty(Call("DELETE", path("v1", "webhooks", webhook_id)))

    def deliveries(
        self,
        webhook_id: str,
        *,
        event: str | None = None,
        success: bool | None = None,
        page: int | None = None,
        per_page: int | None = None,
        sort: str | None = None,
        fields: Fields | None = None,
    ) -> SyncPage[m.DeliveryAttempt]:
        """Every delivery attempt to the endpoint, newest first (the delivery log)."""
        params = c.list_query(page, per_page, sort, fields, event=event, success=success)
        where = path("v1", "webhooks", webhook_id, "deliveries")
        return self._client._page(where, params, m.DeliveryAttempt)

    def test(self, webhook_id: str) -> m.WebhookTestResult:
        """Send a signed test event to the endpoint now; the answer says how it went."""
        call = Call("POST", path("v1", "webhooks", webhook_id, "test"))
        return self._client._request(call, m.WebhookTestResult)


class OrganizationResource(_Resource):
    def get(self) -> m.Organization:
        return self._client._request(Call("GET", "/v1/organization"), m.Organization)

    retrieve = get

    def update(
        self,
        *,
        name: str | NotGiven = NOT_GIVEN,
        home_assistant_enabled: bool | NotGiven = NOT_GIVEN,
    ) -> m.Organization:
        """Rename the organization, or turn Home Assistant discovery of its printers on or
        off (docs/home-assistant.md)."""
        body = c.changes(name=name, home_assistant_enabled=home_assistant_enabled)
        return self._client._request(Call("PATCH", "/v1/organization", json=body), m.Organization)


class Users(_Resource):
    def list(
        self,
        *,
        role: str | None = None,
        page: int | None = None,
        per_page: int | None = None,
        sort: str | None = None,
        fields: Fields | None = None,
    ) -> SyncPage[m.User]:
        params = c.list_query(page, per_page, sort, fields, role=role)
        return self._client._page("/v1/users", params, m.User)

    def get(self, user_id: str) -> m.User:
        call = Call("GET", path("v1", "users", user_id))
        return self._client._request(call, m.User)

    def invite(
        self, *, email: str, role: str | None = None, idempotency_key: str | None = None
    ) -> m.Invitation:
        """Invite someone by email; the answer's ``token`` is shown only this once."""
        call = Call(
            "POST",
            "/v1/users/invite",
            json=body(email=email, role=role),
            headers=c.idempotency(idempotency_key),
        )
        return self._client._request(call, m.Invitation)

    def invitations(
        self,
        *,
        page: int | None = None,
        per_page: int | None = None,
        sort: str | None = None,
        fields: Fields | None = None,
    ) -> SyncPage[m.Invitation]:
        """The invitations not accepted yet and not expired (without their tokens)."""
        params = c.list_query(page, per_page, sort, fields)
        return self._client._page("/v1/invitations", params, m.Invitation)

    def revoke_invitation(self, invitation_id: str) -> None:
        """Revoke an invitation not accepted yet: its token stops working at once."""
        self._client._request_empty(Call("DELETE", path("v1", "invitations", invitation_id)))


class Agents(_Resource):
    def list(
        self,
        *,
        revoked: bool | None = None,
        page: int | None = None,
        per_page: int | None = None,
        sort: str | None = None,
        fields: Fields | None = None,
    ) -> SyncPage[m.Agent]:
        params = c.list_query(page, per_page, sort, fields, revoked=revoked)
        return self._client._page("/v1/agents", params, m.Agent)

    def get(self, agent_id: str) -> m.Agent:
        call = Call("GET", path("v1", "agents", agent_id))
        return self._client._request(call, m.Agent)

    def create(self, *, name: str, idempotency_key: str | None = None) -> m.AgentRegistration:
        """Register an agent. The answer carries its MQTT password and a ready config file,
        shown only this once: store them on the agent's machine."""
        call = Call(
            "POST", "/v1/agents", json={"name": name}, headers=c.idempotency(idempotency_key)
        )
        return self._client._request(call, m.AgentRegistration)

    def rotate_credentials(
        self, agent_id: str, *, idempotency_key: str | None = None
    ) -> m.AgentRegistration:
        """A new MQTT password (and config file) for the agent, shown only this once. The
        old password stops working at once: the agent is off the broker until it has the
        new one."""
        call = Call(
            "POST",
            path("v1", "agents", agent_id, "credentials"),
            headers=c.idempotency(idempotency_key),
        )
        return self._client._request(call, m.AgentRegistration)

    def delete(self, agent_id: str) -> None:
        """Revoke an agent: its broker login is removed and its connection closed; it cannot
        reconnect. It stays listed as revoked. Idempotent."""
        self._client._request_empty(Call("DELETE", path("v1", "agents", agent_id)))

    def revoke(self, agent_id: str) -> m.Agent:
        """Revoke an agent, as `delete` does, and return it. Idempotent."""
        call = Call("POST", path("v1", "agents", agent_id, "revoke"))
        return self._client._request(call, m.Agent)


class MqttCredentials(_Resource):
    """Read-only MQTT logins for dashboards (the API key needs the admin scope)."""

    def list(
        self,
        *,
        revoked: bool | None = None,
        page: int | None = None,
        per_page: int | None = None,
        sort: str | None = None,
        fields: Fields | None = None,
    ) -> SyncPage[m.MqttCredential]:
        params = c.list_query(page, per_page, sort, fields, revoked=revoked)
        return self._client._page("/v1/mqtt-credentials", params, m.MqttCredential)

    def get(self, credential_id: str) -> m.MqttCredential:
        call = Call("GET", path("v1", "mqtt-credentials", credential_id))
        return self._client._request(call, m.MqttCredential)

    def create(self, *, name: str, idempotency_key: str | None = None) -> m.MqttCredential:
        """A login that may subscribe to this organization's agent status, printer state,
        telemetry and events, and publish nothing. ``password`` and ``url`` are in this
        answer only: store them now."""
        call = Call(
            "POST",
            "/v1/mqtt-credentials",
            json={"name": name},
            headers=c.idempotency(idempotency_key),
        )
        return self._client._request(call, m.MqttCredential)

    def delete(self, credential_id: str) -> None:
        """Revoke: the login is removed from the broker and its connections closed."""
        self._client._request_empty(Call("DELETE", path("v1", "mqtt-credentials", credential_id)))


class ApiKeys(_Resource):
    """The organization's API keys (the API key calling needs the admin scope)."""

    def list(
        self,
        *,
        revoked: bool | None = None,
        page: int | None = None,
        per_page: int | None = None,
        sort: str | None = None,
        fields: Fields | None = None,
    ) -> SyncPage[m.ApiKey]:
        params = c.list_query(page, per_page, sort, fields, revoked=revoked)
        return self._client._page("/v1/api-keys", params, m.ApiKey)

    def create(
        self, *, scopes: Sequence[str], name: str | None = None, idempotency_key: str | None = None
    ) -> m.ApiKey:
        """A new key with these scopes, acting for your key's user. ``key`` is in this answer
        only: store it now."""
        call = Call(
            "POST",
            "/v1/api-keys",
            json=body(scopes=list(scopes), name=name),
            headers=c.idempotency(idempotency_key),
        )
        return self._client._request(call, m.ApiKey)

    def delete(self, key_id: str) -> None:
        """Revoke a key: it is refused from the next request on. Idempotent. The
        organization's last admin key cannot be revoked."""
        self._client._request_empty(Call("DELETE", path("v1", "api-keys", key_id)))
