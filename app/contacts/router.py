"""HTTP for contact submissions: JSON from API clients, forms from the website."""

import json
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from app.contacts import service
from app.contacts.schemas import (
    FIELD_LIMITS,
    MAX_TAGS,
    Contact,
    ContactCreate,
    ContactPage,
    Limits,
    Source,
    form_payload,
)
from app.contacts.service import ClientInfo
from app.documents.sniff import ALLOWED_TYPES, KNOWN_EXTENSIONS
from app.errors import BadRequestError, UnsupportedMediaTypeError
from app.multipart import MultipartReader
from app.resources import ResourcesDep

router = APIRouter(prefix="/api", tags=["contacts"])

JSON = "application/json"
URLENCODED = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
SUPPORTED_TYPES = (JSON, URLENCODED, MULTIPART)

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Malformed body (invalid JSON or form encoding)."},
    408: {"description": "An upload outlived the server's grace period for partial files."},
    413: {"description": "Body or one attachment larger than the configured limit."},
    415: {"description": "Content type other than JSON or a form; or a file type not accepted."},
    422: {"description": "A field is missing or invalid, an empty file, too many files."},
    503: {"description": "Database or storage unavailable; retry after `Retry-After` seconds."},
}
# The handler parses the body itself (three content types), so the schema is published by hand.
REQUEST_MODELS = (ContactCreate,)
_CONTACT_SCHEMA = {"$ref": "#/components/schemas/ContactCreate"}
_TEXT = {"type": "string"}
_MULTIPART_SCHEMA = {
    "type": "object",
    "required": ["name", "email", "subject", "message"],
    "properties": {
        "name": _TEXT,
        "email": {"type": "string", "format": "email"},
        "subject": _TEXT,
        "message": _TEXT,
        "tags": {"type": "string", "description": "Comma-separated, or repeat the field."},
        "metadata": {"type": "string", "description": "A JSON object, as text."},
        "files": {
            "type": "array",
            "items": {"type": "string", "format": "binary"},
            "description": "Attachments: PDF, text, Markdown, PNG, JPEG, GIF or WebP.",
        },
    },
}
_CREATE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            JSON: {"schema": _CONTACT_SCHEMA},
            URLENCODED: {"schema": _CONTACT_SCHEMA},
            MULTIPART: {"schema": _MULTIPART_SCHEMA},
        },
    }
}


def _validation_error(exc: ValidationError) -> RequestValidationError:
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    return RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in errors])


def _validate(data: Any) -> ContactCreate:
    try:
        return ContactCreate.model_validate(data)
    except ValidationError as exc:
        raise _validation_error(exc) from None


async def _read_payload(request: Request) -> tuple[ContactCreate, ClientInfo]:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    client = _client(request, "api")
    if media_type == JSON:
        body = await request.body()
        try:
            data = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise BadRequestError("invalid_json", f"body is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise BadRequestError("invalid_json", "body must be a JSON object")
        return _validate(data), client
    if media_type == URLENCODED:
        async with request.form() as form:
            fields = {key: [v for v in form.getlist(key) if isinstance(v, str)] for key in form}
        return _validate(form_payload(fields)), _client(request, "website")
    raise UnsupportedMediaTypeError(media_type, SUPPORTED_TYPES)


def _client(request: Request, source: Source) -> ClientInfo:
    return ClientInfo(
        source=source,
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
    )


@router.post(
    "/contact",
    status_code=201,
    response_model=Contact,
    responses=_ERRORS,
    openapi_extra=_CREATE_BODY,
)
async def create_contact(request: Request, response: Response, resources: ResourcesDep) -> Contact:
    """Store a contact submission: JSON, a URL-encoded form, or a multipart form with files.

    Files go in `files` (repeat the field for several). Each is streamed to object storage as
    it arrives; its type is detected from its bytes. Text, Markdown and PDF files are then
    processed in the background (`processing_status` on each attachment).
    """
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() == MULTIPART:
        reader = MultipartReader(request.stream(), content_type)
        try:
            contact = await service.create_contact_with_attachments(
                resources, reader.parts(), client=_client(request, "website")
            )
        except ValidationError as exc:
            raise _validation_error(exc) from None
    else:
        payload, client = await _read_payload(request)
        contact = await service.create_contact(resources.db, payload, client=client)
    response.headers["Location"] = request.app.url_path_for("get_contact", contact_id=contact.id)
    return contact


@router.get("/contacts/{contact_id}", response_model=Contact, responses=_ERRORS)
async def get_contact(contact_id: UUID, resources: ResourcesDep) -> Contact:
    """One submission by its id."""
    return await service.get_contact(resources.db, contact_id)


@router.get("/contacts", response_model=ContactPage, responses=_ERRORS)
async def list_contacts(
    resources: ResourcesDep,
    limit: Annotated[int, Query(ge=1, le=100, description="Page size.")] = 20,
    cursor: Annotated[
        str | None, Query(max_length=200, description="`next_cursor` of the previous page.")
    ] = None,
    tag: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=50,
            pattern=r"^[^\x00-\x1f\x7f]+$",
            description="Only submissions with this tag.",
        ),
    ] = None,
) -> ContactPage:
    """Submissions, newest first, with keyset pagination and an optional tag filter."""
    return await service.list_contacts(
        resources.db, limit=limit, tag=tag.strip().lower() if tag else None, cursor=cursor
    )


@router.get("/limits", response_model=Limits)
async def get_limits(resources: ResourcesDep) -> Limits:
    """Field lengths, attachment count, size and types the API accepts (for client-side checks)."""
    settings = resources.settings
    return Limits(
        fields=FIELD_LIMITS,
        max_tags=MAX_TAGS,
        max_attachments=settings.max_attachments,
        max_upload_bytes=settings.max_upload_bytes,
        allowed_types=sorted(ALLOWED_TYPES),
        allowed_extensions=sorted(KNOWN_EXTENSIONS),
    )
