"""Signed download links: only the right file, before the expiry, with the right secret."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest

from cloud.files import sign_download, verify_download

SECRET = b"s" * 32
FILE_ID = "fil_0123456789abcdefghjk"
EXPIRES = 1_800_000_600


def signed(
    file_id: str = FILE_ID, expires: int = EXPIRES, secret: bytes = SECRET
) -> dict[str, str]:
    query = parse_qs(sign_download(file_id, expires, secret), strict_parsing=True)
    return {name: values[0] for name, values in query.items()}


def test_a_fresh_signature_verifies() -> None:
    params = signed()
    assert params["expires"] == str(EXPIRES)
    assert verify_download(FILE_ID, params["expires"], params["signature"], SECRET, 1_800_000_000)
    assert verify_download(FILE_ID, EXPIRES, params["signature"], SECRET, EXPIRES - 0.5)


def test_expired_links_fail() -> None:
    params = signed()
    assert not verify_download(FILE_ID, params["expires"], params["signature"], SECRET, EXPIRES)
    assert not verify_download(FILE_ID, params["expires"], params["signature"], SECRET, 2e9)


@pytest.mark.parametrize(
    ("file_id", "expires", "secret"),
    [
        ("fil_0123456789abcdefghjm", str(EXPIRES), SECRET),  # another file
        (FILE_ID, str(EXPIRES + 3600), SECRET),  # a longer life
        (FILE_ID, f"0{EXPIRES}", SECRET),  # another spelling of the same expiry
        (FILE_ID, f"+{EXPIRES}", SECRET),
        (FILE_ID, "soon", SECRET),
        (FILE_ID, "", SECRET),
        (FILE_ID, "9" * 40, SECRET),
        (FILE_ID, str(EXPIRES), b"t" * 32),  # another secret
    ],
)
def test_tampered_links_fail(file_id: str, expires: str, secret: bytes) -> None:
    signature = signed()["signature"]
    assert not verify_download(file_id, expires, signature, secret, 1_800_000_000)


@pytest.mark.parametrize("signature", ["", "!!!", "a", "AAAA", signed()["signature"][:-2]])
def test_malformed_signatures_fail(signature: str) -> None:
    assert not verify_download(FILE_ID, str(EXPIRES), signature, SECRET, 1_800_000_000)


def test_short_secrets_are_refused() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        sign_download(FILE_ID, EXPIRES, b"short")
    with pytest.raises(ValueError, match="16 bytes"):
        verify_download(FILE_ID, str(EXPIRES), "x", b"short", 0)
