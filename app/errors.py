"""One error type for the app and the handlers that render every 4xx/5xx as the same JSON shape."""

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger(__name__)

_CODES_BY_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    503: "service_unavailable",
}


class AppError(Exception):
    """An error the client should see: status, stable machine-readable code, human message."""

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        *,
        details: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.details = details
        self.headers = dict(headers or {})


class NotFoundError(AppError):
    def __init__(self, resource: str, identifier: object) -> None:
        super().__init__(404, "not_found", f"{resource} {identifier} does not exist")


class BadRequestError(AppError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(400, code, message)


class UnsupportedMediaTypeError(AppError):
    def __init__(self, content_type: str, supported: Sequence[str]) -> None:
        super().__init__(
            415,
            "unsupported_media_type",
            f"content type {content_type or '(none)'!r} is not supported",
            details={"supported": list(supported)},
        )


class PayloadTooLargeError(AppError):
    def __init__(self, limit: int) -> None:
        message = f"request body exceeds {limit} bytes"
        super().__init__(413, "payload_too_large", message, details={"limit": limit})


class ServiceUnavailableError(AppError):
    def __init__(self, code: str, message: str, *, retry_after: int) -> None:
        super().__init__(503, code, message, headers={"Retry-After": str(retry_after)})


class DatabaseUnavailableError(ServiceUnavailableError):
    def __init__(self, *, retry_after: int) -> None:
        super().__init__(
            "database_unavailable",
            "the database is unavailable; retry shortly",
            retry_after=retry_after,
        )


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def validation_details(errors: Sequence[Any]) -> list[dict[str, str]]:
    """Pydantic errors as `{field, message, type}`; the submitted value is never echoed back."""
    details = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())]
        if loc and loc[0] in {"body", "query", "path", "header", "form"}:
            loc = loc[1:]
        details.append(
            {
                "field": ".".join(loc) or "body",
                "message": str(error.get("msg", "invalid value")).removeprefix("Value error, "),
                "type": str(error.get("type", "value_error")),
            }
        )
    return details


async def _app_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return JSONResponse(
        error_body(exc.code, exc.message, exc.details),
        status_code=exc.status_code,
        headers=exc.headers,
    )


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = validation_details(exc.errors())
    fields = ", ".join(sorted({d["field"] for d in details}))
    return JSONResponse(
        error_body("validation_error", f"invalid input: {fields}", details), status_code=422
    )


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _CODES_BY_STATUS.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    return JSONResponse(error_body(code, message), status_code=exc.status_code, headers=exc.headers)


async def _unhandled_error(request: Request, exc: Exception) -> JSONResponse:
    # The traceback goes to the log only; the client learns nothing about internals.
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(
        error_body("internal_error", "an unexpected error occurred"), status_code=500
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unhandled_error)
