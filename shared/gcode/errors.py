"""The one error G-code analysis raises: the file cannot be accepted as a print file."""

from __future__ import annotations


class GcodeInvalidError(ValueError):
    """The file is not printable G-code; `reason` says why in words a user can act on.

    The cloud API returns it as the `file_invalid` error with `reason` as the message.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
