"""Typed readers for environment variables that fail loudly.

Each reader raises ``ImproperlyConfigured`` naming the variable and what was wrong with it, so a
typo in production configuration stops the process at start-up instead of surfacing later as odd
behaviour.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str, environ: Mapping[str, str] = os.environ) -> str:
    return environ.get(name, default)


def env_bool(name: str, default: bool, environ: Mapping[str, str] = os.environ) -> bool:
    raw = environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name}={raw!r} is not a boolean: use one of 1/0, true/false, yes/no, on/off."
    )


def env_int(
    name: str,
    default: int,
    environ: Mapping[str, str] = os.environ,
    *,
    minimum: int | None = None,
) -> int:
    raw = environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} is below its minimum of {minimum}.")
    return value


def env_list(name: str, default: list[str], environ: Mapping[str, str] = os.environ) -> list[str]:
    raw = environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_redis_url(name: str, default: str, environ: Mapping[str, str] = os.environ) -> str:
    raw = environ.get(name, default)
    parts = urlsplit(raw)
    if parts.scheme not in {"redis", "rediss", "unix"} or not (parts.hostname or parts.path):
        raise ImproperlyConfigured(
            f"{name}={raw!r} is not a Redis URL: expected redis://host:port/db or rediss://..."
        )
    return raw


def env_database(
    name: str, default: str, environ: Mapping[str, str] = os.environ
) -> dict[str, Any]:
    """Read a database URL: ``postgres://user:pass@host:port/name`` or ``sqlite:///path``."""
    raw = environ.get(name, default)
    parts = urlsplit(raw)
    if parts.scheme == "sqlite":
        path = unquote(parts.path)
        if not path or path == "/":
            raise ImproperlyConfigured(
                f"{name}={raw!r} names no SQLite file: use sqlite:///path/to.db"
            )
        # sqlite:///relative.db has path "/relative.db"; sqlite:////abs.db has path "//abs.db".
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": path[1:]}
    if parts.scheme in {"postgres", "postgresql", "pgsql"}:
        name_part = unquote(parts.path.lstrip("/"))
        if not name_part:
            raise ImproperlyConfigured(
                f"{name}={raw!r} names no database: use postgres://host:5432/name"
            )
        try:
            port = parts.port
        except ValueError:
            raise ImproperlyConfigured(f"{name}={raw!r} has a port that is not a number.") from None
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name_part,
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(port or ""),
            "OPTIONS": dict(parse_qsl(parts.query)),
        }
    raise ImproperlyConfigured(
        f"{name}={raw!r} has an unsupported scheme {parts.scheme!r}: use postgres:// or sqlite:///"
    )
