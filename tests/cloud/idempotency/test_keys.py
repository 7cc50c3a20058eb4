"""The Idempotency-Key header's parsing, request fingerprints and sealed answers."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloud.idempotency.keys import (
    InvalidKeyError,
    RequestFingerprint,
    lookup_hash,
    parse_key,
    seal,
    unseal,
)


@pytest.mark.parametrize(
    "raw,key",
    [
        ('"8e03978e-40d5-43e8-bc93-6894a57f9324"', "8e03978e-40d5-43e8-bc93-6894a57f9324"),
        ("8e03978e-40d5", "8e03978e-40d5"),
        ('  "spaced key"  ', "spaced key"),
        ('"say \\"hi\\" \\\\ bye"', 'say "hi" \\ bye'),
        ("x" * 255, "x" * 255),
    ],
)
def test_sf_strings_and_bare_tokens(raw: str, key: str) -> None:
    assert parse_key(raw) == key


@pytest.mark.parametrize(
    "raw",
    [
        '""',
        "",
        "   ",
        "x" * 256,
        '"open',
        'mid"dle',
        '"bad \\n"',
        '"a"b"',
        "caf\u00e9",
        "tab\there",
    ],
)
def test_malformed_keys(raw: str) -> None:
    with pytest.raises(InvalidKeyError):
        parse_key(raw)


def test_keys_are_scoped_to_the_organization() -> None:
    assert lookup_hash("org_a", "k") != lookup_hash("org_b", "k")
    assert lookup_hash("org_a", "k") == lookup_hash("org_a", "k")
    assert "k" not in lookup_hash("org_a", "k")


@given(st.binary(max_size=2000))
def test_sealing_round_trips_and_hides_the_body(body: bytes) -> None:
    sealed = seal("org_a", "key-1", body)
    assert unseal("org_a", "key-1", sealed) == body
    assert seal("org_a", "key-1", body) != sealed  # a fresh nonce each time
    if len(body) >= 16:
        assert body not in sealed
        assert unseal("org_a", "key-2", sealed) != body


def _digest(method: str, target: str, content_type: str, chunks: list[bytes]) -> str:
    fp = RequestFingerprint(method, target, content_type)
    for chunk in chunks:
        fp.update(chunk)
    return fp.hexdigest()


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(data)) for c in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges)]


def _form(boundary: str, payload: bytes) -> bytes:
    return (
        (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="file"; filename="a.gcode"\r\n\r\n'
        ).encode()
        + payload
        + f"\r\n--{boundary}--\r\n".encode()
    )


@given(
    payload=st.binary(max_size=300),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=6),
    other_cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=6),
)
def test_multipart_digest_ignores_the_boundary_and_the_chunking(
    payload: bytes, cuts: list[int], other_cuts: list[int]
) -> None:
    first = _form("apf-1111", payload)
    second = _form("apf-2222", payload)
    a = _digest("POST", "/v1/jobs", "multipart/form-data; boundary=apf-1111", _split(first, cuts))
    b = _digest(
        "POST", "/v1/jobs", 'multipart/form-data; boundary="apf-2222"', _split(second, other_cuts)
    )
    assert a == b
    changed = _form("apf-1111", payload + b"!")
    ct = "multipart/form-data; boundary=apf-1111"
    assert _digest("POST", "/v1/jobs", ct, [changed]) != a


def test_json_digest_covers_method_target_type_and_body() -> None:
    base = _digest("POST", "/v1/printers", "application/json", [b'{"a":1}'])
    assert base == _digest(
        "POST", "/v1/printers", "application/json; charset=utf-8", [b'{"a":', b"1}"]
    )
    assert base != _digest("POST", "/v1/printers?x=1", "application/json", [b'{"a":1}'])
    assert base != _digest("POST", "/v1/materials", "application/json", [b'{"a":1}'])
    assert base != _digest("POST", "/v1/printers", "application/json", [b'{"a":2}'])
    assert base != _digest("POST", "/v1/printers", "text/plain", [b'{"a":1}'])
