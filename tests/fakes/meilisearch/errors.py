"""Error objects as Meilisearch renders them: `{message, code, type, link}`."""

import json
import re
from typing import Any


class MeiliError(Exception):
    """An error object as Meilisearch renders it, with the HTTP status it travels with."""

    def __init__(self, code: str, message: str, status: int = 400, kind: str = "") -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status
        self.kind = kind or "invalid_request"

    def body(self) -> dict[str, str]:
        link = f"https://docs.meilisearch.com/errors#{self.code}"
        return {"message": self.message, "code": self.code, "type": self.kind, "link": link}


def _not_found(what: str, name: object) -> MeiliError:
    return MeiliError(f"{what.lower()}_not_found", f"{what} `{name}` not found.", 404)


def _unsupported(what: str) -> MeiliError:
    return MeiliError(
        "unsupported_by_fake", f"The fake does not implement {what}.", 501, "internal"
    )


def _bad_type(code: str, name: str, expected: str, value: Any) -> MeiliError:
    found = json.dumps(value, ensure_ascii=False)
    return MeiliError(
        code, f"Invalid value type at `.{name}`: expected {expected}, found `{found}`"
    )


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
