"""The websocket handshake's Origin check: exactly the console's own origin, or one listed in
``CSRF_TRUSTED_ORIGINS``, compared by scheme, host and port, as Django's CSRF check compares them
for HTTP POSTs.

Channels' ``AllowedHostsOriginValidator`` compares the Origin's host with ``ALLOWED_HOSTS`` and
ignores scheme and port, so a page served by any other port of the same host (another service, a
dev server a user started) could open a socket with the operator's session cookie.

The console's own origin is the scheme the client used (``wss``, or the proxy's
``SECURE_PROXY_SSL_HEADER`` saying https) and the ``Host`` header, which must itself be one of
``ALLOWED_HOSTS``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import SplitResult, urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.utils.http import is_same_domain

Scope = dict[str, Any]
Origin = tuple[str, str, int]

_DEFAULT_PORTS = {"http": 80, "https": 443}


def _header(scope: Scope, name: bytes) -> str | None:
    values: list[bytes] = [value for key, value in scope.get("headers", []) if key.lower() == name]
    # None, or several: a handshake with two Origin or Host headers is not a browser's.
    return values[0].decode("latin1") if len(values) == 1 else None


def _parse(url: str) -> SplitResult | None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError on a port that is not a number)
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    if parts.path or parts.query or parts.fragment or parts.username or parts.password:
        return None
    return parts


def _origin(parts: SplitResult) -> Origin:
    assert parts.hostname is not None
    return parts.scheme, parts.hostname.lower(), parts.port or _DEFAULT_PORTS[parts.scheme]


def _is_secure(scope: Scope) -> bool:
    if scope.get("scheme") == "wss":
        return True
    proxy_header = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if not proxy_header:
        return False
    meta_name, secure_value = proxy_header
    # Django names it as a WSGI META key (HTTP_X_FORWARDED_PROTO); the handshake has raw headers.
    name = meta_name.removeprefix("HTTP_").replace("_", "-").lower().encode()
    value = _header(scope, name)
    return value is not None and value.split(",")[0].strip() == secure_value


def own_origin(scope: Scope) -> Origin | None:
    """The console's origin as the client reached it, or None when the Host is not allowed."""
    host = _header(scope, b"host")
    if host is None:
        return None
    domain, _ = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return None
    parts = _parse(f"{'https' if _is_secure(scope) else 'http'}://{host}")
    return _origin(parts) if parts else None


def _trusted(origin: Origin) -> bool:
    for entry in settings.CSRF_TRUSTED_ORIGINS:
        # "https://*.example.com" trusts example.com and its subdomains, as Django's CSRF check does.
        wildcard = "://*." in entry
        parts = _parse(entry.replace("://*.", "://", 1))
        if parts is None:
            continue
        scheme, host, port = _origin(parts)
        if (scheme, port) != (origin[0], origin[2]):
            continue
        if host == origin[1] or (wildcard and is_same_domain(origin[1], "." + host)):
            return True
    return False


def origin_allowed(scope: Scope) -> bool:
    header = _header(scope, b"origin")
    parts = _parse(header) if header else None
    if parts is None:
        return False
    origin = _origin(parts)
    return origin == own_origin(scope) or _trusted(origin)


class ExactOriginValidator:
    """ASGI middleware: refuses a websocket handshake whose Origin is not exactly allowed."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> Any:
        if scope["type"] != "websocket":
            raise ValueError("ExactOriginValidator guards websocket connections only.")
        if origin_allowed(scope):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)
