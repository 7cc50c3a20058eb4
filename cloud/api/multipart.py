"""Streaming `multipart/form-data` for uploads: the file part goes to disk chunk by chunk.

Litestar's form parsing buffers the whole body; a 200 MB G-code file must not sit in memory,
so the request stream is fed to python-multipart's push parser and the file part's bytes are
handed on as they arrive. Text fields are small and kept (bounded) in memory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from python_multipart.multipart import MultipartParser, parse_options_header

from cloud.api.text import refuse_nul_in_pairs
from cloud.errors import invalid

MAX_FIELDS_BYTES = 64 * 1024
MAX_FIELDS = 50


@dataclass
class _Part:
    name: str = ""
    filename: str | None = None
    chunks: list[bytes] = field(default_factory=list)


class MultipartUpload:
    """One upload: text fields in `fields`, the one file part through `file_chunks()`."""

    def __init__(self, content_type: str, body: AsyncIterator[bytes]) -> None:
        media, options = parse_options_header(content_type)
        boundary = options.get(b"boundary")
        if media != b"multipart/form-data" or not boundary:
            raise invalid("Expected multipart/form-data with a boundary.", param="file")
        self.fields: dict[str, list[str]] = {}
        self.filename: str | None = None
        self._body = body
        self._fields_bytes = 0
        self._header_name = b""
        self._headers: dict[bytes, bytes] = {}
        self._part: _Part | None = None
        self._file_ready: list[bytes] = []
        self._file_seen = False
        self._file_done = False
        self._finished = False
        self._parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._on_part_begin,
                "on_header_field": self._on_header_field,
                "on_header_value": self._on_header_value,
                "on_headers_finished": self._on_headers_finished,
                "on_part_data": self._on_part_data,
                "on_part_end": self._on_part_end,
                "on_end": self._on_end,
            },
        )

    # -- parser callbacks (synchronous, called from `write`) --------------------------------
    def _on_part_begin(self) -> None:
        self._part = _Part()
        self._headers = {}

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name = data[start:end].lower()

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._headers[self._header_name] = (
            self._headers.get(self._header_name, b"") + data[start:end]
        )

    def _on_headers_finished(self) -> None:
        assert self._part is not None
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._part.name = options.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" in options:
            if self._file_seen:
                raise invalid("Only one file can be uploaded per job.", param="file")
            self._file_seen = True
            self._part.filename = options[b"filename"].decode("utf-8", "replace")
            self.filename = self._part.filename

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        assert self._part is not None
        if self._part.filename is not None:
            self._file_ready.append(data[start:end])
            return
        self._fields_bytes += end - start
        if self._fields_bytes > MAX_FIELDS_BYTES:
            raise invalid("Form fields are too large.", param=self._part.name or None)
        self._part.chunks.append(data[start:end])

    def _on_part_end(self) -> None:
        part, self._part = self._part, None
        if part is None:
            return
        if part.filename is not None:
            self._file_done = True
            return
        if sum(len(v) for v in self.fields.values()) >= MAX_FIELDS:
            raise invalid("Too many form fields.")
        try:
            value = b"".join(part.chunks).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise invalid(f"Form field '{part.name}' is not UTF-8.", param=part.name) from exc
        # Here, not later: a field is read as soon as it arrives (a job's `printer_id` is
        # checked before the file is stored), and PostgreSQL cannot take a NUL in text.
        refuse_nul_in_pairs([(part.name, value)])
        self.fields.setdefault(part.name, []).append(value)

    def _on_end(self) -> None:
        self._finished = True

    # -- async side --------------------------------------------------------------------------
    async def _feed_one(self) -> bool:
        """Parse one more chunk of the body; False at its end."""
        try:
            chunk = await anext(self._body)
        except StopAsyncIteration:
            if not self._finished:
                raise invalid("The multipart body ended early.", param="file") from None
            return False
        try:
            self._parser.write(chunk)
        except ValueError as exc:  # python-multipart's MultipartParseError is a ValueError
            raise invalid(f"Malformed multipart body: {exc}", param="file") from exc
        return True

    async def start(self) -> bool:
        """Read up to the file part's first bytes; False if the body holds no file."""
        while not self._file_seen:
            if not await self._feed_one():
                return False
        return True

    async def file_chunks(self) -> AsyncIterator[bytes]:
        """The file's bytes as they arrive, then the rest of the body is parsed for fields."""
        while True:
            if self._file_ready:
                ready, self._file_ready = self._file_ready, []
                yield b"".join(ready)
            if self._file_done:
                break
            if not await self._feed_one():
                break
        while await self._feed_one():
            pass

    async def drain(self) -> None:
        """Parse whatever is left (a body without a file part, after `start` said so)."""
        while await self._feed_one():
            pass

    def field(self, name: str) -> str | None:
        values = self.fields.get(name)
        return values[-1] if values else None
