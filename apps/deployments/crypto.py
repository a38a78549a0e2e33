"""Encryption at rest for the console's secrets (deployment API keys and extra headers, webhook
URLs).

Keys come from ``FIELD_ENCRYPTION_KEY`` (comma-separated Fernet keys, outside the database). The
first key encrypts; every key decrypts, so rotation is: put a new key first, re-encrypt, drop the old.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEY must be comma-separated Fernet keys (32 url-safe base64 bytes each)."
        ) from None


def _current() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(plain: str) -> str:
    return _current().encrypt(plain.encode()).decode() if plain else ""


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _current().decrypt(token.encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured(
            "A stored secret cannot be decrypted with FIELD_ENCRYPTION_KEY: was a key dropped?"
        ) from None


def rotate(token: str) -> str:
    """Re-encrypt ``token`` under the first key."""
    return _current().rotate(token.encode()).decode() if token else ""


class EncryptedTextField(models.TextField):  # type: ignore[type-arg]
    """A text column that holds a Fernet token of its value: Python code reads and writes the
    plain text, the database (and its backups) only ever sees the token. Lookups by value cannot
    match (every encryption differs), so use it for secrets nobody filters on."""

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        return decrypt(value) if value else value

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        return encrypt(value) if value else value
