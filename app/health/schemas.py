"""Health and readiness reports."""

from typing import Literal

from pydantic import BaseModel, Field


class Liveness(BaseModel):
    status: Literal["ok"] = "ok"


class CheckResult(BaseModel):
    ok: bool
    critical: bool = Field(default=True, description="A failed critical check fails readiness.")
    latency_ms: float | None = None
    detail: str | None = Field(default=None, examples=["schema at 0001, expected 0001"])


class Readiness(BaseModel):
    status: Literal["ready", "degraded", "unavailable"]
    checks: dict[str, CheckResult]


class DbCheck(BaseModel):
    ok: bool
    latency_ms: float | None = None
