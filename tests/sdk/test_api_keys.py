"""`client.api_keys` (Python SDK) on the real cloud: a key made, used, listed and revoked."""

from __future__ import annotations

import pytest

from autoprintfarm import (
    ApiKey,
    AsyncClient,
    AuthenticationError,
    Client,
    InvalidRequestError,
    PermissionDeniedError,
)
from tests.sdk.cloud import CloudProcess, Org


def test_api_keys(client: Client, cloud: CloudProcess, org: Org) -> None:
    (first,) = client.api_keys.list().data
    assert first.prefix == org.api_key[:12] and "admin" in first.scopes and first.key is None
    made = client.api_keys.create(scopes=["printers:read"], name="wall display")
    assert isinstance(made, ApiKey)
    assert made.key and made.key.startswith("apf_") and made.prefix == made.key[:12]
    assert (made.name, made.scopes, made.revoked) == ("wall display", ["printers:read"], False)
    with Client(api_key=made.key, base_url=cloud.base_url) as reader:
        assert reader.printers.list().data == []
        with pytest.raises(PermissionDeniedError):
            reader.printers.create(name="x", connection_url="http://10.0.0.9", api_key="k")
        with pytest.raises(PermissionDeniedError):
            reader.api_keys.list()
        listed = {k.id: k for k in client.api_keys.list()}
        assert set(listed) == {made.id, first.id}
        assert listed[made.id].key is None  # shown once, at creation
        client.api_keys.delete(made.id)
        with pytest.raises(AuthenticationError):
            reader.printers.list()
    assert [k.id for k in client.api_keys.list(revoked=True)] == [made.id]
    with pytest.raises(InvalidRequestError) as last:
        client.api_keys.delete(first.id)  # the organization's last admin key stays
    assert (last.value.status_code, last.value.param) == (409, "id")


async def test_api_keys_async(cloud: CloudProcess, org: Org) -> None:
    async with AsyncClient(api_key=org.api_key, base_url=cloud.base_url) as client:
        made = await client.api_keys.create(scopes=["jobs:read", "admin"])
        assert made.scopes == ["jobs:read", "admin"] and made.name == ""
        ids = [k.id async for k in await client.api_keys.list(sort="-created_at")]
        assert ids[0] == made.id and len(ids) == 2
        await client.api_keys.delete(made.id)
        assert [k.id for k in (await client.api_keys.list(revoked=False)).data] == ids[1:]
