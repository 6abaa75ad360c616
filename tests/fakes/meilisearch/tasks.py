"""The task queue: indexes and tasks, applied asynchronously like the real engine."""

import asyncio
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tests.fakes.meilisearch.documents import Doc, _document_id
from tests.fakes.meilisearch.errors import MeiliError, _not_found
from tests.fakes.meilisearch.indexes import NESTED_SETTINGS, _Index, _iso, _now

# Tasks wait this long before being applied, so a test that forgets `wait_for_task` fails
# here as it would, intermittently, against a real server.
TASK_DELAY = 0.02


@dataclass
class _Task:
    uid: int
    index_uid: str | None
    kind: str
    payload: dict[str, Any]
    details: dict[str, Any]
    enqueued_at: datetime = field(default_factory=_now)
    status: str = "enqueued"
    batch_uid: int | None = None
    error: dict[str, str] | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None

    def summary(self) -> dict[str, Any]:
        return {"taskUid": self.uid, "indexUid": self.index_uid, "status": self.status,
                "type": self.kind, "enqueuedAt": _iso(self.enqueued_at)}  # fmt: skip

    def view(self) -> dict[str, Any]:
        duration = None
        if self.started_at and self.finished_at:
            duration = f"PT{(self.finished_at - self.started_at).total_seconds():.6f}S"
        return {
            "uid": self.uid, "batchUid": self.batch_uid, "indexUid": self.index_uid,
            "status": self.status, "type": self.kind, "canceledBy": None, "details": self.details,
            "error": self.error, "duration": duration, "enqueuedAt": _iso(self.enqueued_at),
            "startedAt": _iso(self.started_at), "finishedAt": _iso(self.finished_at),
        }  # fmt: skip


def _merge(old: Any, new: Any) -> Any:
    if isinstance(old, dict) and isinstance(new, dict):
        return {**old, **{k: _merge(old.get(k), v) for k, v in new.items()}}
    return new


def _infer_primary_key(documents: list[Doc]) -> str:
    candidates = [k for k in documents[0] if k.lower().endswith("id")] if documents else []
    if len(candidates) == 1:
        return candidates[0]
    if candidates:
        names = " and ".join(f"'{c}'" for c in candidates)
        message = f"The primary key inference failed as the engine found {len(candidates)} fields ending with `id` in their names: {names}. Please specify the primary key manually using the `primaryKey` query parameter."  # noqa: E501
        raise MeiliError("index_primary_key_multiple_candidates_found", message)
    message = "The primary key inference failed as the engine did not find any field ending with `id` in its name. Please specify the primary key manually using the `primaryKey` query parameter."  # noqa: E501
    raise MeiliError("index_primary_key_no_candidate_found", message)


class _Store:
    """Indexes and tasks; outlives the server so a restart keeps the data like a real one."""

    def __init__(self) -> None:
        self.indexes: dict[str, _Index] = {}
        self.tasks: dict[int, _Task] = {}
        self.next_batch = 0
        self.wake: asyncio.Event | None = None

    def index(self, uid: str) -> _Index:
        if uid not in self.indexes:
            raise _not_found("Index", uid)
        return self.indexes[uid]

    def enqueue(
        self, kind: str, uid: str, payload: dict[str, Any], details: dict[str, Any]
    ) -> _Task:
        task = _Task(len(self.tasks), uid, kind, payload, details)
        self.tasks[task.uid] = task
        if self.wake:
            self.wake.set()
        return task

    async def run(self) -> None:
        self.wake = asyncio.Event()
        self.wake.set()
        while True:
            await self.wake.wait()
            self.wake.clear()
            await asyncio.sleep(TASK_DELAY)
            for task in [t for t in self.tasks.values() if t.status == "enqueued"]:
                self.process(task)

    def process(self, task: _Task) -> None:
        task.status, task.started_at, task.batch_uid = "processing", _now(), self.next_batch
        self.next_batch += 1
        try:
            self.apply(task)
            task.status = "succeeded"
        except MeiliError as exc:
            task.status, task.error = "failed", exc.body()
            for key in ("indexedDocuments", "deletedDocuments"):
                if key in task.details:
                    task.details[key] = 0
        task.finished_at = _now()
        if task.index_uid in self.indexes:
            self.indexes[task.index_uid].updated_at = task.finished_at

    def apply(self, task: _Task) -> None:
        uid, payload = task.index_uid or "", task.payload
        if task.kind == "indexCreation":
            if uid in self.indexes:
                raise MeiliError("index_already_exists", f"Index `{uid}` already exists.", 409)
            self.indexes[uid] = _Index(uid, payload.get("primaryKey"))
        elif task.kind == "settingsUpdate":
            index = self.indexes.setdefault(uid, _Index(uid, None))
            for key, value in payload.items():
                if value is None:
                    index.settings.pop(key, None)
                else:
                    index.settings[key] = (
                        _merge(index.setting(key), value) if key in NESTED_SETTINGS else value
                    )
        elif task.kind == "documentDeletion":
            documents = self.index(uid).documents
            deleted = [documents.pop(str(i), None) for i in payload["ids"]]
            task.details["deletedDocuments"] = sum(d is not None for d in deleted)
        else:
            self.add_documents(task)

    def add_documents(self, task: _Task) -> None:
        uid, documents = task.index_uid or "", task.payload["documents"]
        index = self.indexes.get(uid)
        key, wanted = index.primary_key if index else None, task.payload["primaryKey"]
        if key and wanted and wanted != key:
            message = f"Index `{uid}`: Index already has a primary key: `{key}`."
            raise MeiliError("index_primary_key_already_exists", message)
        key = key or wanted or _infer_primary_key(documents)
        staged = dict(index.documents) if index else {}
        for doc in documents:  # all or nothing: one bad document fails the whole task
            if key not in doc:
                shown = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
                message = f"Document doesn't have a `{key}` attribute: `{shown}`."
                raise MeiliError("missing_document_id", message)
            doc_id = _document_id(doc[key])
            if doc_id is None:
                message = f"Document identifier `{json.dumps(doc[key], ensure_ascii=False)}` is invalid. A document identifier can be of type integer or string, only composed of alphanumeric characters (a-z A-Z 0-9), hyphens (-) and underscores (_), and can not be more than 511 bytes."  # noqa: E501
                raise MeiliError("invalid_document_id", message)
            merge = task.payload["merge"] and doc_id in staged
            staged[doc_id] = {**staged[doc_id], **doc} if merge else doc
        index = index or self.indexes.setdefault(uid, _Index(uid, key))
        index.primary_key, index.documents = key, staged
        task.details["indexedDocuments"] = len(documents)
