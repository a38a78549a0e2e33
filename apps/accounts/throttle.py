"""Login rate limiting that does not reveal which usernames exist.

Failed logins are counted in the cache (Redis) per client address and per attempted username, in a
window that opens with the first failure and lasts a minute. Once either count reaches
``settings.LOGIN_FAILURES_PER_MINUTE``, further attempts are refused before any password is
checked, with the same words whether or not the username exists. Usernames are hashed in the key,
and a username that does not exist is counted exactly like one that does.

The address is ``REMOTE_ADDR``: behind a proxy, run Daphne with ``--proxy-headers`` so it is the
client's address rather than the proxy's.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

WINDOW_SECONDS = 60
KEY_PREFIX = "login-failures"
REFUSED_MESSAGE = "Too many failed logins. Wait a minute, then try again."


def client_address(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR") or "unknown")


def _keys(address: str, username: str) -> list[str]:
    digest = hashlib.sha256(username.strip().casefold().encode()).hexdigest()[:32]
    return [f"{KEY_PREFIX}:address:{address}", f"{KEY_PREFIX}:username:{digest}"]


def login_refused(address: str, username: str) -> bool:
    limit = settings.LOGIN_FAILURES_PER_MINUTE
    counts = cache.get_many(_keys(address, username))
    return any(int(count) >= limit for count in counts.values())


def note_login_failure(address: str, username: str) -> None:
    for key in _keys(address, username):
        # add() opens the window only if none is open, so the minute runs from the first failure.
        cache.add(key, 0, timeout=WINDOW_SECONDS)
        try:
            cache.incr(key)
        except ValueError:
            # The window closed between add() and incr(): this failure opens the next one.
            cache.set(key, 1, timeout=WINDOW_SECONDS)
