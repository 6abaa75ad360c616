"""Settings: both ways of naming the database, *_FILE secrets, production refusals."""

import os
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from app.config import Settings, SettingsError, load_settings
from tests.conftest import REPO, TEST_PASSWORD, make_settings

SPECIAL_PASSWORDS = ["p#ss", "p@ss", "p:ss", "p!ss", "p ss/%?&=", TEST_PASSWORD]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No developer .env and no inherited DB_*/DATABASE_* variables leak into these tests."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith(("DB_", "DATABASE_", "ENVIRONMENT")):
            monkeypatch.delenv(name)


@pytest.mark.parametrize("password", SPECIAL_PASSWORDS)
def test_password_with_special_characters_survives_conninfo(password: str) -> None:
    settings = Settings(_env_file=None, db_password=password, db_host="db.internal")
    params = conninfo_to_dict(settings.database_conninfo)
    assert params["password"] == password
    assert params["host"] == "db.internal"
    assert params["dbname"] == "app"


def test_special_character_password_really_connects(database_conninfo: str) -> None:
    """The test server's password holds #, @, :, !, quotes and a backslash."""
    settings = make_settings(database_conninfo)
    assert settings.db_password.get_secret_value() == TEST_PASSWORD
    with psycopg.connect(settings.database_conninfo) as conn:
        assert conn.execute("SELECT current_user").fetchone() is not None


def test_database_url_wins_and_sqlalchemy_scheme_is_accepted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://u:p%23%40%3A%21@h:6543/d")
    monkeypatch.setenv("DB_HOST", "ignored")
    params = conninfo_to_dict(load_settings().database_conninfo)
    assert (params["host"], params["port"], params["user"], params["dbname"]) == (
        "h",
        "6543",
        "u",
        "d",
    )
    assert params["password"] == "p#@:!"


def test_connect_and_statement_timeouts_reach_libpq(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_CONNECT_TIMEOUT", "7")
    monkeypatch.setenv("DB_STATEMENT_TIMEOUT_MS", "1500")
    params = conninfo_to_dict(load_settings().database_conninfo)
    assert params["connect_timeout"] == "7"
    assert params["options"] == "-c statement_timeout=1500"


def test_secret_read_from_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret = tmp_path / "db_password"
    secret.write_text("from-a-file#1\n")
    monkeypatch.setenv("DB_PASSWORD_FILE", str(secret))
    assert load_settings().db_password.get_secret_value() == "from-a-file#1"


def test_database_url_read_from_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret = tmp_path / "database_url"
    secret.write_text("postgresql://u:s3cret@h/d")
    monkeypatch.setenv("DATABASE_URL_FILE", str(secret))
    assert conninfo_to_dict(load_settings().database_conninfo)["password"] == "s3cret"


def test_secret_and_its_file_together_are_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret = tmp_path / "pw"
    secret.write_text("x")
    monkeypatch.setenv("DB_PASSWORD", "y")
    monkeypatch.setenv("DB_PASSWORD_FILE", str(secret))
    with pytest.raises(SettingsError, match="both DB_PASSWORD and DB_PASSWORD_FILE"):
        load_settings()


def test_missing_secret_file_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_PASSWORD_FILE", "/nonexistent/secret")
    with pytest.raises(SettingsError, match="DB_PASSWORD_FILE=/nonexistent/secret cannot be read"):
        load_settings()


@pytest.mark.parametrize("placeholder", ["change-me", "", "postgres", "password"])
def test_production_refuses_placeholder_password(
    monkeypatch: pytest.MonkeyPatch, placeholder: str
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("DB_PASSWORD", placeholder)
    with pytest.raises(SettingsError, match="DB_PASSWORD is a placeholder"):
        load_settings()


def test_production_refuses_default_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    with pytest.raises(SettingsError, match="DB_PASSWORD is a placeholder"):
        load_settings()


def test_production_refuses_placeholder_inside_database_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("DATABASE_URL", "postgresql://app:change-me@db/app")
    with pytest.raises(SettingsError, match="DATABASE_URL is a placeholder"):
        load_settings()


def test_production_accepts_real_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("DB_PASSWORD", "a-real-long-random-secret")
    assert load_settings().environment == "production"


def test_development_accepts_placeholder(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().db_password.get_secret_value() == "change-me"


def test_pool_bounds_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_POOL_MIN_SIZE", "5")
    monkeypatch.setenv("DB_POOL_MAX_SIZE", "2")
    with pytest.raises(SettingsError, match="DB_POOL_MIN_SIZE must not exceed DB_POOL_MAX_SIZE"):
        load_settings()


def test_bad_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_PORT", "not-a-port")
    with pytest.raises(SettingsError, match="DB_PORT"):
        load_settings()


def test_secrets_are_not_printed() -> None:
    settings = Settings(_env_file=None, db_password="hunter2-secret")
    assert "hunter2-secret" not in repr(settings)
    assert "hunter2-secret" not in str(settings.model_dump())


def test_env_example_documents_every_setting() -> None:
    example = REPO / ".env.example"
    documented = {
        line.split("=", 1)[0].lstrip("# ").strip()
        for line in example.read_text().splitlines()
        if "=" in line and not line.startswith("# ---")
    }
    fields = {name.upper() for name in Settings.model_fields}
    assert fields - documented == set()


def test_env_example_values_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    (Path.cwd() / ".env").write_text((REPO / ".env.example").read_text())
    settings = load_settings()
    assert settings.db_password.get_secret_value() == "change-me"
    assert settings.db_pool_timeout == 2
    assert settings.log_format == "json"
