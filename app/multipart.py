"""Streaming multipart/form-data: parts come out as the request body arrives.

Starlette's `request.form()` spools whole files before the handler sees them; this reader hands
over each file part as an async stream of chunks instead, so it can go straight to storage.
"""

from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from app.errors import BadRequestError, PayloadTooLargeError

MAX_FIELD_BYTES = 64 * 1024


@dataclass
class _Event:
    kind: str  # "begin", "header", "headers_done", "data", "end"
    data: bytes = b""
    value: bytes = b""


@dataclass
class Part:
    """One form part. `filename` is None for plain fields; files stream through `chunks()`."""

    name: str
    filename: str | None
    content_type: str | None
    _reader: "MultipartReader" = field(repr=False)

    async def chunks(self) -> AsyncIterator[bytes]:
        while (chunk := await self._reader._next_data()) is not None:
            yield chunk

    async def text(self) -> str:
        value = bytearray()
        async for chunk in self.chunks():
            value += chunk
            if len(value) > MAX_FIELD_BYTES:
                raise PayloadTooLargeError(MAX_FIELD_BYTES)
        return value.decode("utf-8", errors="replace")


class MultipartReader:
    def __init__(self, body: AsyncIterator[bytes], content_type: str) -> None:
        _, options = parse_options_header(content_type)
        boundary = options.get(b"boundary")
        if not boundary:
            raise BadRequestError("invalid_multipart", "multipart body without a boundary")
        self._body = body
        self._events: deque[_Event] = deque()
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._done = False
        self._in_part_data = False
        self._parser = MultipartParser(
            boundary,
            {
                "on_part_begin": lambda: self._events.append(_Event("begin")),
                "on_part_data": self._on_data,
                "on_part_end": lambda: self._events.append(_Event("end")),
                "on_header_field": lambda d, s, e: self._header_field.extend(d[s:e]),
                "on_header_value": lambda d, s, e: self._header_value.extend(d[s:e]),
                "on_header_end": self._on_header_end,
                "on_headers_finished": lambda: self._events.append(_Event("headers_done")),
            },
        )

    def _on_data(self, data: bytes, start: int, end: int) -> None:
        self._events.append(_Event("data", data=bytes(data[start:end])))

    def _on_header_end(self) -> None:
        self._events.append(
            _Event(
                "header", data=bytes(self._header_field).lower(), value=bytes(self._header_value)
            )
        )
        self._header_field.clear()
        self._header_value.clear()

    async def _event(self) -> _Event | None:
        while not self._events:
            if self._done:
                return None
            try:
                chunk = await anext(self._body)
            except StopAsyncIteration:
                self._done = True
                try:
                    self._parser.finalize()
                except MultipartParseError as exc:
                    raise BadRequestError(
                        "invalid_multipart", f"malformed multipart body: {exc}"
                    ) from exc
                continue
            if not chunk:
                continue
            try:
                self._parser.write(chunk)
            except MultipartParseError as exc:
                raise BadRequestError(
                    "invalid_multipart", f"malformed multipart body: {exc}"
                ) from exc
        return self._events.popleft()

    async def _next_data(self) -> bytes | None:
        """The next chunk of the current part's body, or None at its end."""
        while (event := await self._event()) is not None:
            if event.kind == "data":
                if event.data:
                    return event.data
            elif event.kind == "end":
                self._in_part_data = False
                return None
        raise BadRequestError("invalid_multipart", "multipart body ended inside a part")

    async def parts(self) -> AsyncIterator[Part]:
        """Parts in body order; a part's unread data is skipped when the next is asked for."""
        current: Part | None = None
        while True:
            if current is not None and self._in_part_data:
                async for _ in current.chunks():  # the caller did not read it all: skip the rest
                    pass
            headers: dict[bytes, bytes] = {}
            while (event := await self._event()) is not None and event.kind != "headers_done":
                if event.kind == "header":
                    headers[event.data] = event.value
            if event is None:
                if not headers:
                    return
                raise BadRequestError("invalid_multipart", "multipart body ended inside headers")
            disposition, options = parse_options_header(headers.get(b"content-disposition", b""))
            if disposition != b"form-data" or b"name" not in options:
                raise BadRequestError("invalid_multipart", "part without a form-data name")
            raw_filename = options.get(b"filename")
            content_type = headers.get(b"content-type")
            current = Part(
                name=options[b"name"].decode("utf-8", errors="replace"),
                filename=None if raw_filename is None else raw_filename.decode("utf-8", "replace"),
                content_type=content_type.decode("latin-1") if content_type else None,
                _reader=self,
            )
            self._in_part_data = True
            yield current
