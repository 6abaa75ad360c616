"""Rules for accepted text: PostgreSQL cannot store NUL, and control characters are never wanted."""

import unicodedata
from typing import Any

# Newlines and tabs are fine in a message body; nowhere else.
MULTILINE_ALLOWED = frozenset("\n\r\t")


def check_text(value: str, *, multiline: bool = False) -> str:
    """Reject NUL, other control characters and unencodable (lone surrogate) code points."""
    allowed = MULTILINE_ALLOWED if multiline else frozenset()
    for char in value:
        if char in allowed:
            continue
        if char == "\x00":
            raise ValueError("must not contain NUL bytes")
        if unicodedata.category(char) in {"Cc", "Cs"}:
            raise ValueError(f"must not contain control characters (found U+{ord(char):04X})")
    return value


def check_json_text(value: Any) -> Any:
    """`check_text` applied to every key and string inside a JSON value."""
    if isinstance(value, str):
        return check_text(value)
    if isinstance(value, list):
        return [check_json_text(item) for item in value]
    if isinstance(value, dict):
        return {check_text(str(k)): check_json_text(v) for k, v in value.items()}
    return value
