"""HTTP for contact submissions: JSON from API clients, forms from the website."""

import json
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.datastructures import FormData

from app.contacts import service
from app.contacts.schemas import Contact, ContactCreate, ContactPage
from app.contacts.service import ClientInfo
from app.errors import BadRequestError, UnsupportedMediaTypeError
from app.resources import ResourcesDep

router = APIRouter(prefix="/api", tags=["contacts"])

JSON = "application/json"
URLENCODED = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
SUPPORTED_TYPES = (JSON, URLENCODED, MULTIPART)

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Malformed body (invalid JSON or form encoding)."},
    413: {"description": "Body larger than the configured limit."},
    415: {"description": "Content type other than JSON or a form."},
    422: {"description": "A field is missing or invalid; `details` names it."},
    503: {"description": "Database unavailable; retry after `Retry-After` seconds."},
}
# The handler parses the body itself (three content types), so the schema is published by hand.
REQUEST_MODELS = (ContactCreate,)
_CONTACT_SCHEMA = {"$ref": "#/components/schemas/ContactCreate"}
_CREATE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            JSON: {"schema": _CONTACT_SCHEMA},
            URLENCODED: {"schema": _CONTACT_SCHEMA},
            MULTIPART: {"schema": _CONTACT_SCHEMA},
        },
    }
}


def _validate(data: Any) -> ContactCreate:
    try:
        return ContactCreate.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False, include_context=False)
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in errors]) from None


def _form_to_dict(form: FormData) -> dict[str, Any]:
    """Form fields into the JSON shape. Tags repeat or are comma-separated; metadata is JSON."""
    data: dict[str, Any] = {
        key: form[key]
        for key in ("name", "email", "subject", "message")
        if isinstance(form.get(key), str)
    }
    values = [value for value in form.getlist("tags") if isinstance(value, str)]
    tags = [part for value in values for part in value.split(",")]
    if tags:
        data["tags"] = tags
    raw_metadata = form.get("metadata")
    if isinstance(raw_metadata, str) and raw_metadata.strip():
        try:
            data["metadata"] = json.loads(raw_metadata)
        except json.JSONDecodeError:
            data["metadata"] = raw_metadata  # rejected by validation as "not an object"
    return data


async def _read_payload(request: Request) -> tuple[ContactCreate, ClientInfo]:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    client = ClientInfo(
        source="api",
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
    )
    if media_type == JSON:
        body = await request.body()
        try:
            data = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise BadRequestError("invalid_json", f"body is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise BadRequestError("invalid_json", "body must be a JSON object")
        return _validate(data), client
    if media_type in (URLENCODED, MULTIPART):
        async with request.form() as form:
            data = _form_to_dict(form)
        return _validate(data), ClientInfo("website", client.ip, client.user_agent)
    raise UnsupportedMediaTypeError(media_type, SUPPORTED_TYPES)


@router.post(
    "/contact",
    status_code=201,
    response_model=Contact,
    responses=_ERRORS,
    openapi_extra=_CREATE_BODY,
)
async def create_contact(request: Request, response: Response, resources: ResourcesDep) -> Contact:
    """Store a contact submission sent as JSON, a URL-encoded form or a multipart form."""
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
