"""What the console's websockets share: whether a socket's session still logs its user in, as an
HTTP request would, and what the channel layer raises while Redis is away.

A websocket is authenticated once, at the handshake, while Django checks the session on every
HTTP request. The console's consumers call ``session_is_valid`` on a short interval and on each
access re-check, so a socket closes once a request with the same cookie would be refused: the
session was logged out, expired or deleted; the password changed (Django's session auth hash no
longer matches); or the user was deactivated (the backend refuses inactive users).
"""

from __future__ import annotations

from importlib import import_module

from django.conf import settings
from django.contrib import auth
from django.http import HttpRequest
from redis.exceptions import RedisError

# How old the last check of a socket's session and team access may grow.
RECHECK_SECONDS = 1.0
# What joining or leaving a group raises while Redis is away (refused, reset or timed out): a
# consumer then serves what the database has and joins again later.
LAYER_ERRORS = (RedisError, OSError)


def session_is_valid(session_key: str | None, user_id: int) -> bool:
    """The session ``session_key`` still authenticates the user ``user_id``.

    Django's own ``get_user`` decides, so every rule of a request applies (the auth hash with
    ``SECRET_KEY_FALLBACKS``, the backend's ``user_can_authenticate``); like a request, it
    flushes a session whose hash no longer matches.
    """
    if not session_key:
        return False
    request = HttpRequest()
    request.session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    user = auth.get_user(request)
    return bool(user.is_authenticated and user.pk == user_id)
