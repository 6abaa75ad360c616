"""Contact submissions as the API accepts and returns them."""

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    JsonValue,
    StringConstraints,
)

from app.documents.schemas import Document
from app.text import check_json_text, check_text

MAX_TAGS = 20
MAX_METADATA_BYTES = 4096
MAX_NAME = MAX_SUBJECT = 200
MAX_EMAIL = 254
MAX_MESSAGE = 10_000


def _multi_line(value: str) -> str:
    return check_text(value, multiline=True)


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def _small_json(value: dict[str, JsonValue]) -> dict[str, JsonValue]:
    checked: dict[str, JsonValue] = check_json_text(value)
    if len(json.dumps(checked).encode()) > MAX_METADATA_BYTES:
        raise ValueError(f"must serialize to at most {MAX_METADATA_BYTES} bytes of JSON")
    return checked


# Whitespace is stripped before the length check, so "   " counts as empty.
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NAME),
    AfterValidator(check_text),
]
Subject = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_SUBJECT),
    AfterValidator(check_text),
]
Message = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_MESSAGE),
    AfterValidator(_multi_line),
]
Tag = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=50),
    AfterValidator(check_text),
]
Source = Literal["api", "website"]


class ContactCreate(BaseModel):
    """A contact-form submission."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Ada Lovelace",
                    "email": "ada@example.com",
                    "subject": "Engine question",
                    "message": "Could the engine compose music?\nRegards, Ada",
                    "tags": ["sales", "urgent"],
                    "metadata": {"campaign": "autumn-2026"},
                }
            ]
        },
    )

    name: Name
    email: Annotated[EmailStr, Field(max_length=MAX_EMAIL)]
    subject: Subject
    message: Message
    tags: Annotated[list[Tag], AfterValidator(_unique), Field(max_length=MAX_TAGS)] = []
    metadata: Annotated[dict[str, JsonValue], AfterValidator(_small_json)] = Field(
        default_factory=dict, description="Free-form JSON object kept with the submission."
    )


class Contact(BaseModel):
    """A stored submission."""

    id: UUID
    name: str
    email: str
    subject: str
    message: str
    tags: list[str]
    source: Source
    metadata: dict[str, Any] = Field(
        description="What the client sent in `metadata`, under `custom`, plus what the server "
        "recorded: `source`, `user_agent`, `client_ip`, `tags`."
    )
    created_at: datetime
    attachments: list[Document] = Field(default_factory=list)


class ContactPage(BaseModel):
    items: list[Contact]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )


def form_payload(fields: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """Form fields in the JSON shape. Tags repeat or are comma-separated; metadata is JSON."""
    data: dict[str, Any] = {
        key: values[-1]
        for key in ("name", "email", "subject", "message")
        if (values := fields.get(key))
    }
    tags = [part for value in fields.get("tags", ()) for part in value.split(",")]
    if tags:
        data["tags"] = tags
    raw_metadata = fields.get("metadata")
    if raw_metadata and raw_metadata[-1].strip():
        try:
            data["metadata"] = json.loads(raw_metadata[-1])
        except json.JSONDecodeError:
            data["metadata"] = raw_metadata[-1]  # rejected by validation as "not an object"
    return data


class FieldLimit(BaseModel):
    required: bool
    max_length: int


FIELD_LIMITS = {
    "name": FieldLimit(required=True, max_length=MAX_NAME),
    "email": FieldLimit(required=True, max_length=MAX_EMAIL),
    "subject": FieldLimit(required=True, max_length=MAX_SUBJECT),
    "message": FieldLimit(required=True, max_length=MAX_MESSAGE),
}


class Limits(BaseModel):
    """What the API accepts, so clients can check before they send."""

    fields: dict[str, FieldLimit]
    max_tags: int
    max_attachments: int
    max_upload_bytes: int
    allowed_types: list[str]
    allowed_extensions: list[str]
