"""ASGI middleware: request context (ID, access log, RED metrics) and the request body size cap."""

import json
import logging
import re
import time
import uuid

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import metrics
from app.errors import error_body
from app.logs import request_id_var

access_logger = logging.getLogger("app.access")

REQUEST_ID_HEADER = "x-request-id"
# nginx's status for a request its client abandoned: no response was sent, and no error was ours.
CLIENT_CLOSED_REQUEST = 499
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else metrics.UNMATCHED_ROUTE


class RequestContextMiddleware:
    """Assigns the request ID, then logs and measures every request by its route template."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        incoming = _header(scope, REQUEST_ID_HEADER.encode())
        request_id = (
            incoming if incoming and _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        )
        token = request_id_var.set(request_id)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k != REQUEST_ID_HEADER.encode()
                ]
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                message["headers"] = headers
            await send(message)

        metrics.HTTP_IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, send_with_id)
        except ClientDisconnect:
            # Gone before its body was read (a closed tab, an edge cutting off an oversized
            # body): nobody to answer. What it uploaded so far is already cleaned up.
            status = CLIENT_CLOSED_REQUEST
        finally:
            metrics.HTTP_IN_FLIGHT.dec()
            duration = time.perf_counter() - started
            route = _route_template(scope)
            method = scope["method"]
            metrics.HTTP_REQUESTS.labels(method=method, route=route, status=str(status)).inc()
            metrics.HTTP_REQUEST_DURATION.labels(method=method, route=route).observe(duration)
            client = scope.get("client")
            access_logger.info(
                "%s %s %d",
                method,
                scope["path"],
                status,
                extra={
                    "method": method,
                    "path": scope["path"],
                    "route": route,
                    "status": status,
                    "duration_ms": round(duration * 1000, 2),
                    "client_ip": client[0] if client else None,
                },
            )
            request_id_var.reset(token)


class BodyTooLargeError(Exception):
    pass


class BodySizeLimitMiddleware:
    """Answers 413 for bodies over the limit, by Content-Length or by counting a chunked body.

    `upload_paths` get the larger `upload_max_bytes` for multipart bodies (attachments).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        upload_paths: frozenset[str] | set[str] = frozenset(),
        upload_max_bytes: int = 0,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.upload_paths = frozenset(upload_paths)
        self.upload_max_bytes = max(upload_max_bytes, max_bytes)

    def _limit(self, scope: Scope) -> int:
        content_type = _header(scope, b"content-type") or ""
        if scope["path"] in self.upload_paths and content_type.lower().startswith(
            "multipart/form-data"
        ):
            return self.upload_max_bytes
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        limit = self._limit(scope)
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._reject(send, limit)
            return

        received = 0
        response_started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLargeError
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLargeError:
            if response_started:
                raise
            await self._reject(send, limit)

    async def _reject(self, send: Send, limit: int) -> None:
        body = json.dumps(
            error_body(
                "payload_too_large", f"request body exceeds {limit} bytes", {"limit": limit}
            ),
            separators=(",", ":"),
        ).encode()
        headers: list[tuple[bytes, bytes]] = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
