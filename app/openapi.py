"""OpenAPI additions FastAPI cannot infer: request bodies a handler parses itself."""

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel


def add_component_schemas(app: FastAPI, models: Sequence[type[BaseModel]]) -> None:
    """Publish `models` under components/schemas so `$ref`s in `openapi_extra` resolve."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for model in models:
                model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
                components.update(model_schema.pop("$defs", {}))
                components[model.__name__] = model_schema
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]
