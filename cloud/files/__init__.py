"""G-code storage for the cloud: streamed uploads and URL fetches, analysed and stored
atomically, plus signed expiring download URLs for agents (see docs/security.md)."""

from __future__ import annotations

from cloud.files.errors import FileInvalidError, FileTooLargeError, StoredFileNotFoundError
from cloud.files.signing import sign_download, verify_download
from cloud.files.store import GcodeStore, StoredFile, clean_filename, filename_from_url

__all__ = [
    "FileInvalidError",
    "FileTooLargeError",
    "GcodeStore",
    "StoredFile",
    "StoredFileNotFoundError",
    "clean_filename",
    "filename_from_url",
    "sign_download",
    "verify_download",
]
