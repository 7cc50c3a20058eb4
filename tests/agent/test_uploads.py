"""Uploads are named by their content, so a printer's host recognises a reprint."""

from __future__ import annotations

import hashlib
from pathlib import Path

from agent.drivers.uploads import content_named


def test_a_cached_file_is_named_by_the_hash_its_name_already_carries(tmp_path: Path) -> None:
    digest = "ab" * 32
    cached = tmp_path / f"{digest}.gcode"
    cached.write_bytes(b"G28\n")
    upload = content_named(cached)
    # The cache verified that hash on download: it is trusted, not recomputed.
    assert (upload.name, upload.sha256, upload.size) == (f"apf-{'ab' * 8}.gcode", digest, 4)


def test_any_other_file_is_hashed_and_keeps_a_readable_name(tmp_path: Path) -> None:
    body = b"G28\nG1 X10\n"
    part = tmp_path / "Benchy v2 (0.4mm).gcode"
    part.write_bytes(body)
    upload = content_named(part)
    digest = hashlib.sha256(body).hexdigest()
    assert upload.sha256 == digest
    assert upload.name == f"apf-{digest[:16]}-Benchy_v2_0.4mm_.gcode"
    # Same content under another name: the same host file, so no second upload.
    copy = tmp_path / "other.gcode"
    copy.write_bytes(body)
    assert content_named(copy).sha256 == upload.sha256
