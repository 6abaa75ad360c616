"""What the lifespan owns, and the dependencies that hand it to routers."""

from dataclasses import dataclass
from typing import Annotated, cast

from fastapi import Depends, Request

from app.config import Settings
from app.db import Database


@dataclass(frozen=True, slots=True)
class Resources:
    settings: Settings
    db: Database
    expected_revision: str | None


def get_resources(request: Request) -> Resources:
    return cast(Resources, request.app.state.resources)


ResourcesDep = Annotated[Resources, Depends(get_resources)]
