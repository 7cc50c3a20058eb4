"""`materials`, `organization`, `users`, `agents`, `analytics`, `webhooks` on the real cloud.

Each test skips, naming the route, while the cloud does not serve that route yet.
"""

from __future__ import annotations

import pytest

from autoprintfarm import (
    AgentRegistration,
    Client,
    FleetAnalytics,
    InvalidRequestError,
    MqttCredential,
    NotFoundError,
    Organization,
    webhooks,
)
from tests.sdk.cloud import CloudProcess, Org
from tests.sdk.conftest import require_route
from tests.sdk.receiver import Receiver


def test_materials(client: Client, cloud: CloudProcess, org: Org) -> None:
    require_route(cloud, org, "/v1/materials")
    spool = client.materials.create(
        type="PLA",
        brand="Hatchbox",
        color="Black",
        spool_weight=1000,
        remaining_weight=650,
        cost_per_kg=20.00,
        reorder_threshold=100,
    )
    assert spool.id.startswith("mat_")
    assert (spool.type, spool.remaining_weight, spool.status) == ("PLA", 650, "active")
    assert client.materials.get(spool.id) == spool
    other = client.materials.create(type="PETG", spool_weight=750)
    assert other.remaining_weight == 750  # a new spool starts full

    low = client.materials.update(spool.id, remaining_weight=50, color=None)
    assert (low.remaining_weight, low.color) == (50, None)
    assert [m.id for m in client.materials.list(type="PETG")] == [other.id]
    # "PETG" sorts before "PLA"; one item a page, both pages walked.
    assert [m.id for m in client.materials.list(per_page=1, sort="type")] == [other.id, spool.id]
    with pytest.raises(InvalidRequestError) as bad:
        client.materials.create(type="PLA", spool_weight=-1)
    assert bad.value.param == "spool_weight"
    client.materials.delete(other.id)
    with pytest.raises(NotFoundError):
        client.materials.get(other.id)


def test_organization(client: Client, cloud: CloudProcess, org: Org) -> None:
    require_route(cloud, org, "/v1/organization")
    mine = client.organization.get()
    assert isinstance(mine, Organization)
    assert mine.id == org.org_id and mine.plan == "pro"
    assert mine.limits.printers == 200 and mine.usage.printers == 0
    assert client.organization.update(name="Renamed farm").name == "Renamed farm"
    assert client.organization.retrieve().name == "Renamed farm"
    assert mine.home_assistant_enabled is False
    turned_on = client.organization.update(home_assistant_enabled=True)
    assert turned_on.home_assistant_enabled is True and turned_on.name == "Renamed farm"
    assert client.organization.get().home_assistant_enabled is True


def test_users_and_invitations(client: Client, cloud: CloudProcess, org: Org) -> None:
    require_route(cloud, org, "/v1/users")
    (owner,) = client.users.list().data
    assert owner.role == "owner" and owner.email
    assert client.users.get(owner.id) == owner
    assert [u.id for u in client.users.list(role="owner")] == [owner.id]
    invitation = client.users.invite(email="new@farm.test", role="member")
    assert (invitation.email, invitation.role) == ("new@farm.test", "member")
    assert invitation.token
    with pytest.raises(InvalidRequestError) as bad:
        client.users.invite(email="not-an-email")
    assert bad.value.param == "email"
    (pending,) = client.users.invitations().data
    assert (pending.id, pending.email, pending.token) == (invitation.id, "new@farm.test", None)
    assert pending.invited_by == owner.id
    client.users.revoke_invitation(invitation.id)
    assert client.users.invitations().data == []
    with pytest.raises(NotFoundError):
        client.users.revoke_invitation(invitation.id)


def test_agents(client: Client, cloud: CloudProcess, org: Org) -> None:
    require_route(cloud, org, "/v1/agents")
    registered = client.agents.create(name="pi-shelf-1")
    assert isinstance(registered, AgentRegistration)
    agent = registered.agent
    assert agent.id.startswith("agt_") and registered.mqtt.password and registered.config_toml
    assert client.agents.get(agent.id).name == "pi-shelf-1"
    assert [a.id for a in client.agents.list()] == [agent.id]
    rotated = client.agents.rotate_credentials(agent.id)
    assert rotated.mqtt.password and rotated.mqtt.password != registered.mqtt.password
    assert rotated.mqtt.password in rotated.config_toml
    revoked = client.agents.revoke(agent.id)
    assert revoked.revoked and revoked.revoked_at is not None
    assert [a.id for a in client.agents.list(revoked=False)] == []
    other = client.agents.create(name="pi-shelf-2").agent
    client.agents.delete(other.id)
    assert client.agents.get(other.id).revoked


def test_mqtt_credentials(client: Client, cloud: CloudProcess, org: Org) -> None:
    require_route(cloud, org, "/v1/mqtt-credentials")
    created = client.mqtt_credentials.create(name="shop wall")
    assert isinstance(created, MqttCredential)
    assert created.id.startswith("mqc_") and created.username == created.id
    assert created.password and created.url and created.url.startswith("mqtt")
    assert created.topics == [
        f"apf/{org.org_id}/agents/+/status",
        f"apf/{org.org_id}/agents/+/printers/+/state",
        f"apf/{org.org_id}/agents/+/printers/+/telemetry",
        f"apf/{org.org_id}/agents/+/events",
    ]
    fetched = client.mqtt_credentials.get(created.id)
    assert fetched.name == "shop wall" and fetched.password is None
    assert [c.id for c in client.mqtt_credentials.list()] == [created.id]
    client.mqtt_credentials.delete(created.id)
    assert [c.id for c in client.mqtt_credentials.list(revoked=True)] == [created.id]
    assert client.mqtt_credentials.get(created.id).revoked


def test_analytics(client: Client, cloud: CloudProcess, org: Org) -> None:
    require_route(cloud, org, "/v1/analytics/fleet")
    fleet = client.analytics.fleet(from_date="2025-10-01", to_date="2025-10-06")
    assert isinstance(fleet, FleetAnalytics)
    assert fleet.period.from_ is not None and fleet.period.from_.day == 1
    assert fleet.metrics.total_printers == 0
    assert client.analytics.jobs(from_date="2025-10-01", to_date="2025-10-06").period.to
    assert client.analytics.materials(from_date="2025-10-01").period.from_
    printer = client.printers.create(name="a", connection_url="http://10.3.0.1", api_key="k")
    assert client.analytics.printer(printer.id, from_date="2025-10-01").period.from_


def test_webhooks_and_a_real_signed_delivery(client: Client, cloud: CloudProcess, org: Org) -> None:
    require_route(cloud, org, "/v1/webhooks")
    with Receiver() as receiver:
        hook = client.webhooks.create(
            url=receiver.url, events=["job.*", "printer.offline"], secret="webhook_secret_key"
        )
        assert hook.id.startswith("whk_") and hook.enabled
        assert hook.secret == "webhook_secret_key"  # shown in the create answer only
        assert client.webhooks.get(hook.id).secret is None
        assert [h.id for h in client.webhooks.list()] == [hook.id]
        assert client.webhooks.update(hook.id, enabled=False).enabled is False
        assert client.webhooks.list(enabled=True).data == []
        client.webhooks.update(hook.id, enabled=True)

        result = client.webhooks.test(hook.id)
        assert result.success is True and result.status_code == 204
        (delivery, *_) = receiver.wait_for(1)
        event = webhooks.verify(delivery["body"], delivery["headers"], "webhook_secret_key")
        assert event.id == delivery["headers"]["webhook-id"] == result.message_id
        with pytest.raises(webhooks.WebhookVerificationError):
            webhooks.verify(delivery["body"], delivery["headers"], "another secret")
        (attempt,) = client.webhooks.deliveries(hook.id).data
        assert (attempt.message_id, attempt.success) == (result.message_id, True)
    client.webhooks.delete(hook.id)
    assert client.webhooks.list().data == []
    with pytest.raises(NotFoundError):
        client.webhooks.get(hook.id)
