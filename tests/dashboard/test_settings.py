from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from dashboard.embedded import BASE_DIR
from dashboard.env import env_bool, env_database, env_int, env_list, env_redis_url


def test_booleans_accept_the_usual_spellings():
    assert env_bool("X", False, {"X": "yes"}) is True
    assert env_bool("X", True, {"X": "Off"}) is False
    assert env_bool("X", True, {}) is True


def test_a_boolean_that_is_not_one_names_the_variable():
    with pytest.raises(ImproperlyConfigured, match=r"DEBUG='maybe' is not a boolean"):
        env_bool("DEBUG", False, {"DEBUG": "maybe"})


def test_a_number_that_is_not_one_names_the_variable():
    with pytest.raises(ImproperlyConfigured, match=r"CONN_MAX_AGE='ten' is not a whole number"):
        env_int("CONN_MAX_AGE", 0, {"CONN_MAX_AGE": "ten"})


def test_a_number_below_its_minimum_is_refused():
    with pytest.raises(ImproperlyConfigured, match="below its minimum of 1"):
        env_int("CHANNEL_CAPACITY", 100, {"CHANNEL_CAPACITY": "0"}, minimum=1)


def test_lists_are_comma_separated_and_trimmed():
    assert env_list("HOSTS", [], {"HOSTS": " a.example , b.example,"}) == ["a.example", "b.example"]


def test_a_redis_url_must_look_like_one():
    assert env_redis_url("REDIS_URL", "redis://127.0.0.1:6379/0", {}) == "redis://127.0.0.1:6379/0"
    with pytest.raises(ImproperlyConfigured, match="is not a Redis URL"):
        env_redis_url("REDIS_URL", "", {"REDIS_URL": "http://127.0.0.1:6379"})


def test_database_urls_become_django_settings():
    postgres = env_database(
        "DATABASE_URL", "", {"DATABASE_URL": "postgres://sw:p%40ss@db.internal:6543/console"}
    )
    assert postgres["ENGINE"] == "django.db.backends.postgresql"
    assert (postgres["NAME"], postgres["USER"], postgres["PASSWORD"]) == ("console", "sw", "p@ss")
    assert (postgres["HOST"], postgres["PORT"]) == ("db.internal", "6543")
    assert env_database("D", "sqlite:////tmp/x.sqlite3", {})["NAME"] == "/tmp/x.sqlite3"


def test_an_unknown_database_scheme_is_refused():
    with pytest.raises(ImproperlyConfigured, match="unsupported scheme 'mysql'"):
        env_database("DATABASE_URL", "", {"DATABASE_URL": "mysql://db/console"})


def _load_settings(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "DATABASE_URL"}
    }
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=BASE_DIR,
        env={**clean, "DJANGO_SETTINGS_MODULE": "dashboard.settings", **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_console_refuses_to_start_on_a_bad_value_and_says_which():
    result = _load_settings(DEBUG="perhaps")
    assert result.returncode != 0
    assert "DEBUG='perhaps' is not a boolean" in result.stderr


def test_production_mode_demands_its_secrets_from_the_environment():
    result = _load_settings(SECRET_KEY="x" * 60, ALLOWED_HOSTS="console.example")
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEY must be set in the environment" in result.stderr


def test_production_mode_refuses_a_short_secret_key():
    result = _load_settings(SECRET_KEY="short", ALLOWED_HOSTS="console.example")
    assert "SECRET_KEY must be at least 50 characters long" in result.stderr


def test_production_settings_pass_the_deployment_checklist():
    from cryptography.fernet import Fernet

    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG"}}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env={
            **clean,
            "SECRET_KEY": "k" * 30 + "-production-secret-key-0123456789",
            "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "ALLOWED_HOSTS": "console.example",
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
