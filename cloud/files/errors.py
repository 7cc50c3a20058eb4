"""Errors of the G-code store; each carries `reason`, a sentence for the API user."""

from __future__ import annotations


class FileInvalidError(ValueError):
    """The upload cannot be stored as a print file (the API's `file_invalid`)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class FileTooLargeError(FileInvalidError):
    """The upload is larger than the caller's `max_bytes`."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"the file is larger than the limit of {max_bytes} bytes")
        self.max_bytes = max_bytes


class StoredFileNotFoundError(LookupError):
    """No stored file has this id (or the id is not a file id at all)."""

    def __init__(self, file_id: str) -> None:
        super().__init__(f"no stored file {file_id!r}")
        self.file_id = file_id
