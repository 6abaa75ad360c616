"""Health and readiness reports."""

from typing import Literal

from pydantic import BaseModel, Field


class Liveness(BaseModel):
    status: Literal["ok"] = "ok"


class CheckResult(BaseModel):
    ok: bool
    latency_ms: float | None = None
    detail: str | None = Field(default=None, examples=["schema at 0001, expected 0001"])


class Readiness(BaseModel):
    status: Literal["ready", "unavailable"]
    checks: dict[str, CheckResult]


class DbCheck(BaseModel):
    ok: bool
    latency_ms: float | None = None
