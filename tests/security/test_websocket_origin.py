"""The websocket handshake accepts exactly the console's own origin (scheme, host and port) and
those in ``CSRF_TRUSTED_ORIGINS``, in production mode, through a real Daphne (issue 14, row 9)."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

TRUSTED = "https://console.example"


@pytest.fixture
def production_daphne(start_daphne: Any) -> str:
    _, url = start_daphne(
        {
            # The test's own secrets, so the sessions it makes are valid in Daphne.
            "SECRET_KEY": settings.SECRET_KEY,
            "FIELD_ENCRYPTION_KEY": ",".join(settings.FIELD_ENCRYPTION_KEYS),
            "ALLOWED_HOSTS": "127.0.0.1",
            "CSRF_TRUSTED_ORIGINS": TRUSTED,
        }
    )
    return str(url)


def _opens(base_url: str, cookie: str, origin: str) -> bool:
    """Whether the inbox socket's handshake is accepted with this Origin."""
    url = base_url.replace("http://", "ws://") + "/ws/inbox/"
    try:
        with connect(url, additional_headers={"Cookie": cookie, "Origin": origin}) as socket:
            socket.recv(timeout=10)  # the badge: the consumer accepted and answered
    except InvalidStatus as refused:
        if refused.response.status_code == 403:
            return False
        raise
    return True


@pytest.mark.django_db(transaction=True)
def test_only_the_exact_origin_or_a_trusted_one_opens_a_socket(
    production_daphne, ws_login, bob, deployment_a
):
    cookie = ws_login(bob)["Cookie"]
    port = production_daphne.rsplit(":", 1)[1]

    assert _opens(production_daphne, cookie, production_daphne)
    # The same host on another port, or another scheme, is another origin.
    assert not _opens(production_daphne, cookie, "http://127.0.0.1:9999")
    assert not _opens(production_daphne, cookie, "http://127.0.0.1")
    assert not _opens(production_daphne, cookie, f"https://127.0.0.1:{port}")
    assert not _opens(production_daphne, cookie, "http://console.example")
    assert not _opens(production_daphne, cookie, "null")
    assert _opens(production_daphne, cookie, TRUSTED)


def _scope(origin: str | None, host: str | None, **extra: str) -> dict[str, Any]:
    headers = {"origin": origin, "host": host, **extra}
    return {
        "type": "websocket",
        "scheme": "ws",
        "headers": [(k.encode(), v.encode()) for k, v in headers.items() if v is not None],
    }


@pytest.mark.parametrize(
    ("origin", "host", "extra", "allowed"),
    [
        ("http://127.0.0.1:8000", "127.0.0.1:8000", {}, True),
        ("http://127.0.0.1", "127.0.0.1:80", {}, True),  # the default port, written or not
        ("http://127.0.0.1:8000", "127.0.0.1:8001", {}, False),
        ("http://localhost:8000", "127.0.0.1:8000", {}, False),
        ("http://127.0.0.1:8000", None, {}, False),  # no Host: the console's origin is unknown
        (None, "127.0.0.1:8000", {}, False),
        ("http://evil.example", "evil.example", {}, False),  # a Host not in ALLOWED_HOSTS
        ("https://console.example", "127.0.0.1:8000", {}, True),  # CSRF_TRUSTED_ORIGINS
        ("https://team.corp.example", "127.0.0.1:8000", {}, True),  # its https://*.corp.example
        ("http://team.corp.example", "127.0.0.1:8000", {}, False),
        ("https://127.0.0.1:8000", "127.0.0.1:8000", {}, False),
        # Behind the TLS proxy SECURE_PROXY_SSL_HEADER names, the page is https.
        ("https://127.0.0.1:8000", "127.0.0.1:8000", {"x-forwarded-proto": "https"}, True),
        ("http://127.0.0.1:8000/", "127.0.0.1:8000", {}, False),
        ("null", "127.0.0.1:8000", {}, False),
    ],
)
def test_the_origin_rule(settings, origin, host, extra, allowed):
    from dashboard.origin import origin_allowed

    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    settings.CSRF_TRUSTED_ORIGINS = [TRUSTED, "https://*.corp.example"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

    assert origin_allowed(_scope(origin, host, **extra)) is allowed
