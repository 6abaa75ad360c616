"""`/docs`: Swagger UI served by the app, with no CDN and no inline script (the edge's CSP)."""

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

SWAGGER_UI = Path(__file__).parent / "static" / "swagger-ui"

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - API docs</title>
<link rel="stylesheet" href="/docs/static/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/static/swagger-ui-bundle.js"></script>
<script src="/docs/static/init.js"></script>
</body>
</html>
"""


def install_docs(app: FastAPI) -> None:
    """Serve Swagger UI at /docs from the bundled copy (the FastAPI app has docs_url=None)."""
    app.mount("/docs/static", StaticFiles(directory=SWAGGER_UI), name="docs-static")
    page = PAGE.format(title=app.title)

    @app.get("/docs", include_in_schema=False)
    async def get_docs() -> HTMLResponse:
        return HTMLResponse(page)
