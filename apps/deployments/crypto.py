"""Encryption at rest for deployment secrets (API keys, extra headers).

Keys come from ``FIELD_ENCRYPTION_KEY`` (comma-separated Fernet keys, outside the database). The
first key encrypts; every key decrypts, so rotation is: put a new key first, re-encrypt, drop the old.
"""

from __future__ import annotations

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


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
            "A deployment secret cannot be decrypted with FIELD_ENCRYPTION_KEY: was a key dropped?"
        ) from None


def rotate(token: str) -> str:
    """Re-encrypt ``token`` under the first key."""
    return _current().rotate(token.encode()).decode() if token else ""
