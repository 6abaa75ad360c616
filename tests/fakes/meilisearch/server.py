"""HTTP: Starlette routes, master-key auth, and `FakeMeilisearch` serving them in a thread."""

import asyncio
import contextlib
import hmac
import json
import re
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from devstack.postgres import free_port
from tests.fakes.meilisearch.documents import _selected
from tests.fakes.meilisearch.errors import MeiliError, _bad_type, _not_found, _snake, _unsupported
from tests.fakes.meilisearch.indexes import DEFAULT_SETTINGS, LIST_SETTINGS, RANKING_RULE
from tests.fakes.meilisearch.search import _search
from tests.fakes.meilisearch.tasks import _Store, _Task

Endpoint = Callable[[Request], Awaitable[Response]]

VERSION = "1.30.0"
UID = re.compile(r"[A-Za-z0-9_-]{1,400}")


def _path_uid(request: Request) -> str:
    return _checked_uid(request.path_params["uid"])


def _checked_uid(uid: Any) -> str:
    if not isinstance(uid, str) or not UID.fullmatch(uid):
        message = f"`{uid}` is not a valid index uid. Index uid can be an integer or a string containing only alphanumeric characters, hyphens (-) and underscores (_), and can not be more than 400 bytes."  # noqa: E501
        raise MeiliError("invalid_index_uid", message)
    return uid


async def _json(request: Request) -> Any:
    content_type = request.headers.get("content-type", "")
    if not content_type:
        message = "A Content-Type header is missing. Accepted values for the Content-Type header are: `application/json`"  # noqa: E501
        raise MeiliError("missing_content_type", message, 415)
    if content_type.split(";")[0].strip() in ("application/x-ndjson", "text/csv"):
        raise _unsupported(f"`{content_type}` payloads")
    if content_type.split(";")[0].strip() != "application/json":
        message = f"The Content-Type `{content_type}` is invalid. Accepted values for the Content-Type header are: `application/json`"  # noqa: E501
        raise MeiliError("invalid_content_type", message, 415)
    raw = await request.body()
    if not raw:
        raise MeiliError("missing_payload", "A json payload is missing.")
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise MeiliError(
            "malformed_payload", f"The json payload provided is malformed. `{exc}`."
        ) from exc


def _accepted(task: _Task) -> JSONResponse:
    return JSONResponse(task.summary(), status_code=202)


class _Api:
    def __init__(self, store: _Store, master_key: str | None) -> None:
        self.store, self.master_key = store, master_key

    def app(self) -> Starlette:
        @contextlib.asynccontextmanager
        async def lifespan(_: Starlette) -> AsyncIterator[None]:
            worker = asyncio.create_task(self.store.run())
            yield
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker

        routes = [
            ("/health", self.health, ["GET"]),
            ("/version", self.version, ["GET"]),
            ("/indexes", self.create_index, ["POST"]),
            ("/indexes/{uid}", self.get_index, ["GET"]),
            ("/indexes/{uid}/settings", self.get_settings, ["GET"]),
            ("/indexes/{uid}/settings", self.update_settings, ["PATCH"]),
            ("/indexes/{uid}/documents", self.add_documents, ["POST", "PUT"]),
            ("/indexes/{uid}/documents/{document_id}", self.get_document, ["GET"]),
            ("/indexes/{uid}/documents/{document_id}", self.delete_document, ["DELETE"]),
            ("/indexes/{uid}/search", self.search_documents, ["POST"]),
            ("/tasks", self.list_tasks, ["GET"]),
            ("/tasks/{task_uid}", self.get_task, ["GET"]),
        ]
        return Starlette(
            routes=[Route(path, self.guard(fn), methods=methods) for path, fn, methods in routes],
            lifespan=lifespan,
        )

    def guard(self, endpoint: Endpoint) -> Endpoint:
        async def guarded(request: Request) -> Response:
            try:
                self.authorize(request)
                return await endpoint(request)
            except MeiliError as exc:
                return JSONResponse(exc.body(), status_code=exc.status)

        return guarded

    def authorize(self, request: Request) -> None:
        if self.master_key is None or request.url.path == "/health":
            return
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer "):
            message = (
                "The Authorization header is missing. It must use the bearer authorization method."
            )
            raise MeiliError("missing_authorization_header", message, 401, "auth")
        if not hmac.compare_digest(
            header.removeprefix("Bearer ").encode(), self.master_key.encode()
        ):
            raise MeiliError("invalid_api_key", "The provided API key is invalid.", 403, "auth")

    async def health(self, _: Request) -> Response:
        return JSONResponse({"status": "available"})

    async def version(self, _: Request) -> Response:
        return JSONResponse({"commitSha": "fake", "commitDate": "unknown", "pkgVersion": VERSION})

    async def create_index(self, request: Request) -> Response:
        body = await _json(request)
        if not isinstance(body, dict) or "uid" not in body:
            raise MeiliError("missing_index_uid", "Missing field `uid`")
        uid, key = _checked_uid(body["uid"]), body.get("primaryKey")
        return _accepted(
            self.store.enqueue("indexCreation", uid, {"primaryKey": key}, {"primaryKey": key})
        )

    async def get_index(self, request: Request) -> Response:
        return JSONResponse(self.store.index(_path_uid(request)).view())

    async def get_settings(self, request: Request) -> Response:
        index = self.store.index(_path_uid(request))
        return JSONResponse({name: index.setting(name) for name in DEFAULT_SETTINGS})

    async def update_settings(self, request: Request) -> Response:
        uid, body = _path_uid(request), await _json(request)
        if not isinstance(body, dict):
            raise _bad_type("bad_request", "", "an object", body)
        for name, value in body.items():
            if name not in DEFAULT_SETTINGS:
                expected = ", ".join(f"`{k}`" for k in DEFAULT_SETTINGS)
                raise MeiliError(
                    "bad_request", f"Unknown field `{name}`: expected one of {expected}"
                )
            code = f"invalid_settings_{_snake(name)}"
            if name in LIST_SETTINGS and value is not None:
                if not isinstance(value, list) or not all(
                    isinstance(v, str) or (name == "filterableAttributes" and isinstance(v, dict))
                    for v in value
                ):
                    raise _bad_type(code, name, "an array", value)
                if name == "rankingRules" and not all(RANKING_RULE.fullmatch(r) for r in value):
                    raise MeiliError(code, f"Invalid ranking rule in `{value}`.")
        return _accepted(self.store.enqueue("settingsUpdate", uid, body, dict(body)))

    async def add_documents(self, request: Request) -> Response:
        uid, body = _path_uid(request), await _json(request)
        documents = [body] if isinstance(body, dict) else body
        if not isinstance(documents, list) or not all(isinstance(d, dict) for d in documents):
            message = "The `json` payload provided is malformed. `Couldn't serialize document value: expected an object or an array of objects`."  # noqa: E501
            raise MeiliError("malformed_payload", message)
        payload = {"documents": documents, "primaryKey": request.query_params.get("primaryKey"),
                   "merge": request.method == "PUT"}  # fmt: skip
        details = {"receivedDocuments": len(documents), "indexedDocuments": None}
        return _accepted(self.store.enqueue("documentAdditionOrUpdate", uid, payload, details))

    async def get_document(self, request: Request) -> Response:
        index, doc_id = self.store.index(_path_uid(request)), request.path_params["document_id"]
        if doc_id not in index.documents:
            raise _not_found("Document", doc_id)
        fields = request.query_params.get("fields", "*").split(",")
        displayed = index.setting("displayedAttributes")
        doc = index.documents[doc_id]
        return JSONResponse(
            {k: v for k, v in doc.items() if _selected(k, displayed) and _selected(k, fields)}
        )

    async def delete_document(self, request: Request) -> Response:
        uid, doc_id = _path_uid(request), request.path_params["document_id"]
        details = {"providedIds": 1, "deletedDocuments": None, "originalFilter": None}
        return _accepted(self.store.enqueue("documentDeletion", uid, {"ids": [doc_id]}, details))

    async def search_documents(self, request: Request) -> Response:
        index = self.store.index(_path_uid(request))
        body = await _json(request)
        if not isinstance(body, dict):
            raise _bad_type("bad_request", "", "an object", body)
        return JSONResponse(_search(index, body))

    async def list_tasks(self, request: Request) -> Response:
        params = request.query_params

        def wanted(name: str) -> set[str] | None:
            values = set(params[name].split(",")) - {"*"} if name in params else set()
            return values or None

        uids, statuses, types, index_uids = (
            wanted(n) for n in ("uids", "statuses", "types", "indexUids")
        )
        limit = int(params.get("limit", 20))
        start = int(params["from"]) if "from" in params else len(self.store.tasks)
        selected = [
            t
            for t in sorted(self.store.tasks.values(), key=lambda t: -t.uid)
            if (uids is None or str(t.uid) in uids)
            and (statuses is None or t.status in statuses)
            and (types is None or t.kind in types)
            and (index_uids is None or t.index_uid in index_uids)
        ]
        page = [t for t in selected if t.uid <= start]
        following = page[limit].uid if len(page) > limit else None
        first = page[0].uid if page else None
        return JSONResponse({"results": [t.view() for t in page[:limit]], "total": len(selected),
                             "limit": limit, "from": first, "next": following})  # fmt: skip

    async def get_task(self, request: Request) -> Response:
        raw = request.path_params["task_uid"]
        if not raw.isdigit():
            message = f"Invalid value in parameter `taskUid`: could not parse `{raw}` as an integer"
            raise MeiliError("invalid_task_uids", message)
        if int(raw) not in self.store.tasks:
            raise _not_found("Task", raw)
        return JSONResponse(self.store.tasks[int(raw)].view())


class FakeMeilisearch:
    """A fake Meilisearch on 127.0.0.1 in a background thread; `stop()`/`start()` keep its data."""

    def __init__(self, *, port: int | None = None, master_key: str | None = None) -> None:
        self.port = port or free_port()
        self.master_key = master_key
        self._store = _Store()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Serve on the same port as before; returns once `/health` answers."""
        if self._thread is not None:
            return
        app = _Api(self._store, self.master_key).app()
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_config=None, log_level="warning",
            access_log=False, lifespan="on", ws="none", http="h11",
        )  # fmt: skip
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, name=f"fake-meilisearch-{self.port}", daemon=True
        )
        thread.start()
        self._server, self._thread = server, thread
        deadline = time.monotonic() + 10
        while not self._answers():
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the fake Meilisearch did not start on {self.url}")
            time.sleep(0.02)

    def stop(self) -> None:
        """Close the port (clients then get connection errors); data and tasks stay."""
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._server = self._thread = None

    def _answers(self) -> bool:
        try:
            return httpx.get(f"{self.url}/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def __enter__(self) -> "FakeMeilisearch":
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
