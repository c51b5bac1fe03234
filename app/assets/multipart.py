"""Reading a `multipart/form-data` request as a stream, one part after another.

Starlette's `request.form()` reads the whole body (spooling files) before the handler runs.
This reader feeds `request.stream()` into python-multipart's push parser instead, so a file
part's bytes can go upstream while the client is still sending them, and memory contains
about one network chunk at a time.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import IO, Any

from python_multipart.multipart import MultipartParser, parse_options_header

from app.core.errors import FieldError, InvalidInputError

# Form fields (not files) are small; a larger one is rejected rather than buffered.
MAX_FIELD_BYTES = 8192
SPOOL_CHUNK_BYTES = 1_048_576


def invalid_form(message: str, field: str = "body") -> InvalidInputError:
    return InvalidInputError(message, operation="upload_asset", fields=[FieldError(field, message)])


@dataclass(frozen=True)
class FormPart:
    name: str
    filename: str | None
    content_type: str | None


class MultipartReader:
    """Parts of a multipart body, read in order; read a part to its end or skip it."""

    def __init__(self, stream: AsyncIterator[bytes], content_type: str) -> None:
        kind, options = parse_options_header(content_type)
        boundary = options.get(b"boundary")
        if kind != b"multipart/form-data" or not boundary:
            raise invalid_form("the request must be multipart/form-data with a boundary")
        self._stream = stream
        self._events: deque[tuple[str, Any]] = deque()
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._headers: dict[str, str] = {}
        self._in_part = False
        self._finished = False
        self._parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._on_part_begin,
                "on_part_data": self._on_part_data,
                "on_part_end": lambda: self._events.append(("end", None)),
                "on_header_field": lambda data, start, end: self._header_name.extend(
                    data[start:end]
                ),
                "on_header_value": lambda data, start, end: self._header_value.extend(
                    data[start:end]
                ),
                "on_header_end": self._on_header_end,
                "on_headers_finished": lambda: self._events.append(
                    ("headers", dict(self._headers))
                ),
                "on_end": lambda: self._events.append(("done", None)),
            },
        )

    def _on_part_begin(self) -> None:
        self._headers = {}

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        if end > start:
            self._events.append(("data", bytes(data[start:end])))

    def _on_header_end(self) -> None:
        name = bytes(self._header_name).decode("latin-1").lower()
        self._headers[name] = bytes(self._header_value).decode("utf-8", "replace")
        self._header_name.clear()
        self._header_value.clear()

    async def _next_event(self) -> tuple[str, Any]:
        while not self._events:
            try:
                chunk = await anext(self._stream)
            except StopAsyncIteration:
                self._parser.finalize()
                if not self._events:
                    raise invalid_form(
                        "the multipart body ended before its closing boundary"
                    ) from None
                break
            if chunk:
                self._parser.write(chunk)
        return self._events.popleft()

    async def next_part(self) -> FormPart | None:
        """Skip what is left of the current part and return the next one, or None at the end."""
        if self._finished:
            return None
        while True:
            event, value = await self._next_event()
            if event == "done":
                self._finished = True
                return None
            if event == "headers":
                self._in_part = True
                _, options = parse_options_header(value.get("content-disposition", ""))
                name = options.get(b"name", b"").decode("utf-8", "replace")
                filename = options.get(b"filename")
                return FormPart(
                    name,
                    filename.decode("utf-8", "replace") if filename else None,
                    value.get("content-type"),
                )

    async def read_chunk(self) -> bytes:
        """Return the current part's next bytes, or b"" at its end."""
        while self._in_part:
            event, value = await self._next_event()
            if event == "data":
                return bytes(value)
            if event == "end":
                self._in_part = False
            elif event == "done":
                self._in_part = False
                self._finished = True
        return b""

    async def read_text(self, name: str) -> str:
        value = bytearray()
        while chunk := await self.read_chunk():
            value.extend(chunk)
            if len(value) > MAX_FIELD_BYTES:
                raise invalid_form(
                    f"form field {name} is longer than {MAX_FIELD_BYTES} bytes", name
                )
        return value.decode("utf-8", "replace").strip()


class PartSource:
    """The current file part of a `MultipartReader` as a `ByteSource`, with look-ahead."""

    def __init__(self, reader: MultipartReader) -> None:
        self._reader = reader
        self._buffer = b""
        self.consumed = 0

    async def peek(self, size: int) -> bytes:
        """Return up to `size` leading bytes without consuming them (fewer only at the end)."""
        while len(self._buffer) < size:
            chunk = await self._reader.read_chunk()
            if not chunk:
                break
            self._buffer += chunk
        return self._buffer[:size]

    async def read(self, size: int) -> bytes:
        if not self._buffer:
            self._buffer = await self._reader.read_chunk()
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        self.consumed += len(data)
        return data


class FileSource:
    """A spooled temporary file as a `ByteSource`; reads run in a worker thread."""

    def __init__(self, file: IO[bytes], size: int) -> None:
        self._file = file
        self.size = size

    async def read(self, size: int) -> bytes:
        return await asyncio.to_thread(self._file.read, min(size, SPOOL_CHUNK_BYTES))


async def spool(source: PartSource, limit: int) -> tuple[IO[bytes], int]:
    """Copy the rest of `source` to a temporary file; stop as soon as it passes `limit` bytes.

    Returns the file, rewound, and its size; the caller closes it (the file has no name).
    """
    file = tempfile.TemporaryFile()
    size = 0
    try:
        while chunk := await source.read(SPOOL_CHUNK_BYTES):
            size += len(chunk)
            if size > limit:
                break
            await asyncio.to_thread(file.write, chunk)
        await asyncio.to_thread(file.seek, 0)
    except BaseException:
        file.close()
        raise
    return file, size


async def drain(source: PartSource, limit: int) -> int:
    """Read the rest of `source` without keeping it; return the byte count (stops past `limit`)."""
    size = 0
    while chunk := await source.read(SPOOL_CHUNK_BYTES):
        size += len(chunk)
        if size > limit:
            break
    return size
