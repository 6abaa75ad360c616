"""Settings: one object read from the environment, with `*_FILE` variants for every secret."""

import os
from pathlib import Path
from typing import Any, Literal

from psycopg.conninfo import conninfo_to_dict, make_conninfo
from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

# Values that ship in .env.example and the dev defaults. Fine on a laptop, refused in production.
PLACEHOLDER_SECRETS = frozenset(
    {"", "change-me", "changeme", "password", "postgres", "secret", "admin", "minioadmin"}
)


def _is_secret(annotation: Any) -> bool:
    return annotation is SecretStr or annotation == (SecretStr | None)


class SecretFilesSource(PydanticBaseSettingsSource):
    """Reads NAME from the file named by NAME_FILE, for every secret field (Docker secrets)."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        raise NotImplementedError  # __call__ reads all fields at once

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, field in self.settings_cls.model_fields.items():
            if not _is_secret(field.annotation):
                continue
            env_name = name.upper()
            file_path = os.environ.get(f"{env_name}_FILE")
            if not file_path:
                continue
            if os.environ.get(env_name):
                raise ValueError(f"both {env_name} and {env_name}_FILE are set; set only one")
            try:
                # Secret files usually end with a newline that is not part of the secret.
                values[name] = Path(file_path).read_text(encoding="utf-8").rstrip("\r\n")
            except OSError as exc:
                raise ValueError(
                    f"{env_name}_FILE={file_path} cannot be read: {exc.strerror}"
                ) from exc
        return values


class Settings(BaseSettings):
    """Every setting the app reads. Environment names are the field names in UPPER_SNAKE."""

    # An empty variable (`MEILI_API_KEY=` in .env) means "not set", not "the empty string".
    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", frozen=True, env_ignore_empty=True
    )

    environment: Literal["development", "production"] = "development"
    service_name: str = "contact-api"
    build_commit: str = "unknown"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "json"

    # Either one URL, or the parts. The parts are what compose and Kubernetes usually provide.
    database_url: SecretStr | None = None
    db_host: str = "127.0.0.1"
    db_port: int = Field(default=5432, ge=1, le=65535)
    db_user: str = "app"
    db_password: SecretStr = SecretStr("change-me")
    db_name: str = "app"
    db_sslmode: Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] = (
        "prefer"
    )
    db_pool_min_size: int = Field(default=2, ge=0)
    db_pool_max_size: int = Field(default=10, ge=1)
    db_pool_timeout: float = Field(default=2.0, gt=0)  # seconds to wait for a free connection
    db_connect_timeout: int = Field(default=5, ge=1)  # seconds per connection attempt
    db_startup_timeout: float = Field(default=60.0, gt=0)  # seconds to wait at start-up
    db_statement_timeout_ms: int = Field(default=10_000, ge=0)

    max_request_bytes: int = Field(default=1024 * 1024, ge=1024)
    retry_after_seconds: int = Field(default=5, ge=1)

    # Attachments: streamed to storage while they arrive, never held whole in memory.
    max_attachments: int = Field(default=5, ge=0, le=50)
    max_upload_bytes: int = Field(default=25 * 1024 * 1024, ge=1)
    upload_part_bytes: int = Field(default=5 * 1024 * 1024, ge=5 * 1024 * 1024)  # S3 minimum
    upload_orphan_grace_seconds: int = Field(default=3600, ge=1)

    storage_backend: Literal["s3", "filesystem"] = "filesystem"
    storage_dir: Path = Path(".data/objects")
    s3_endpoint: str = "127.0.0.1:8333"  # host:port, no scheme
    s3_secure: bool = False
    s3_region: str = "us-east-1"
    s3_access_key: str = "dev-access-key"
    s3_secret_key: SecretStr = SecretStr("change-me")
    s3_bucket: str = "documents"
    s3_create_bucket: bool = True

    search_backend: Literal["postgres", "meilisearch"] = "postgres"
    meili_url: str = "http://127.0.0.1:7700"
    meili_api_key: SecretStr | None = None
    meili_index: str = "documents"
    meili_timeout_seconds: float = Field(default=5.0, gt=0)

    notify_backend: Literal["log", "ses", "none"] = "log"
    ses_region: str = "us-east-1"
    ses_endpoint_url: str | None = None  # a local SES-compatible server in tests
    ses_access_key_id: str | None = None  # unset: boto3's default credential chain
    ses_secret_access_key: SecretStr | None = None
    ses_sender: str = "no-reply@example.com"
    ses_recipient: str = "admin@example.com"

    # Background jobs (PostgreSQL-backed). The API runs a worker unless WORKER_IN_APP=false.
    worker_in_app: bool = True
    worker_concurrency: int = Field(default=2, ge=1, le=32)
    job_poll_seconds: float = Field(default=1.0, gt=0)
    job_retry_base_seconds: float = Field(default=2.0, gt=0)
    job_retry_max_seconds: float = Field(default=600.0, gt=0)
    job_lease_seconds: int = Field(default=300, ge=5)
    worker_metrics_host: str = "127.0.0.1"  # `python -m app.worker` serves /metrics here
    worker_metrics_port: int = Field(default=9100, ge=0, le=65535)  # 0: no metrics server

    @model_validator(mode="after")
    def _check_pool_and_secrets(self) -> "Settings":
        if self.db_pool_min_size > self.db_pool_max_size:
            raise ValueError("DB_POOL_MIN_SIZE must not exceed DB_POOL_MAX_SIZE")
        if self.environment == "production":
            for env_name, value in self._secrets():
                if value.strip().lower() in PLACEHOLDER_SECRETS:
                    raise ValueError(
                        f"{env_name} is a placeholder; set a real secret in {env_name} "
                        f"or {env_name}_FILE (ENVIRONMENT=production refuses placeholders)"
                    )
        return self

    def _secrets(self) -> list[tuple[str, str]]:
        """(variable, value) for each secret that is in use with the current backends."""
        secrets: list[tuple[str, str]] = []
        if self.database_url is not None:
            url_password = conninfo_to_dict(self._database_url()).get("password") or ""
            secrets.append(("DATABASE_URL", str(url_password)))
        else:
            secrets.append(("DB_PASSWORD", self.db_password.get_secret_value()))
        if self.storage_backend == "s3":
            secrets.append(("S3_SECRET_KEY", self.s3_secret_key.get_secret_value()))
        if self.search_backend == "meilisearch":
            key = self.meili_api_key.get_secret_value() if self.meili_api_key else ""
            secrets.append(("MEILI_API_KEY", key))
        if self.notify_backend == "ses" and self.ses_secret_access_key is not None:
            secrets.append(("SES_SECRET_ACCESS_KEY", self.ses_secret_access_key.get_secret_value()))
        return secrets

    def _database_url(self) -> str:
        assert self.database_url is not None
        url = self.database_url.get_secret_value()
        # SQLAlchemy-style URLs (postgresql+psycopg://) are common in .env files; libpq wants plain.
        scheme, sep, rest = url.partition("://")
        if sep and scheme.startswith("postgresql+"):
            return f"postgresql://{rest}"
        return url

    @property
    def database_conninfo(self) -> str:
        """A libpq conninfo string. Built with psycopg so any character in a password is safe."""
        options: dict[str, Any] = {
            "connect_timeout": self.db_connect_timeout,
            "application_name": self.service_name,
        }
        if self.db_statement_timeout_ms:
            options["options"] = f"-c statement_timeout={self.db_statement_timeout_ms}"
        if self.database_url is not None:
            return make_conninfo(self._database_url(), **options)
        return make_conninfo(
            host=self.db_host,
            port=self.db_port,
            user=self.db_user,
            password=self.db_password.get_secret_value(),
            dbname=self.db_name,
            sslmode=self.db_sslmode,
            **options,
        )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, SecretFilesSource(settings_cls), dotenv_settings)


class SettingsError(SystemExit):
    """Start-up refused: the message names the variables to fix."""


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment, or a readable exit naming what is wrong."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False, include_input=False):
            field = ".".join(str(part) for part in error["loc"]).upper()
            message = error["msg"].removeprefix("Value error, ")
            problems.append(f"{field}: {message}" if field else message)
        raise SettingsError("invalid settings:\n  " + "\n  ".join(problems)) from None
    except ValueError as exc:  # raised by SecretFilesSource before validation
        raise SettingsError(f"invalid settings:\n  {exc}") from None
