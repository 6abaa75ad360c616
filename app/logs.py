"""Logging: one JSON object per line, carrying the request ID of the request being served."""

import logging
import sys
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        # uvicorn attaches an ANSI-coloured copy of each message; JSON logs want one message.
        record.__dict__.pop("color_message", None)
        return True


def configure_logging(*, level: str, fmt: str, service: str) -> None:
    """Route the app's, uvicorn's and psycopg's loggers to stdout in one format."""
    handler = logging.StreamHandler(sys.stdout)
    handler.addFilter(_RequestIdFilter())
    if fmt == "json":
        handler.setFormatter(
            JsonFormatter(
                "{levelname}{name}{message}{request_id}",
                style="{",
                rename_fields={"levelname": "level", "name": "logger"},
                static_fields={"service": service},
                timestamp=True,
            )
        )
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(name)s [%(request_id)s] %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # The app writes its own access log with route templates and request IDs.
    logging.getLogger("uvicorn.access").disabled = True
