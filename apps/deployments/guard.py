"""The outbound guard: every connection the console opens to a deployment or a webhook is checked
where it is made, on the address it actually goes to.

A URL passes ``urlcheck.check_url`` when it is saved, but its host name may resolve elsewhere later
(DNS rebinding: public when saved, 127.0.0.1 when the console connects). So the guard resolves the
host itself at connect time, refuses the connection if any address it resolves to is one the
console may not reach (``urlcheck.address_problem`` under the current settings), and connects to
the address it checked, never to the name again. TLS still verifies, and the Host header still
names, the host of the URL: httpcore takes both from the request, not from the socket.

It is an httpx transport, so the SDK (which accepts ``transport=``) stays free of console policy:
``GuardedAsyncTransport`` for SDK clients, ``sync_transport()`` for the webhook sender.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import ssl
import time
from collections.abc import Iterable
from typing import Any

import anyio
import anyio.to_thread
import httpcore
import httpx

from apps.deployments.urlcheck import (
    METADATA_HOSTS,
    Policy,
    Resolver,
    address_problem,
    resolve_host,
)

# What the SDK's own pool uses: at most 100 connections; idle ones are dropped before uvicorn's
# 5 s keep-alive closes them.
DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=4)
# After a 5xx, how long requests that may not be retried go on a connection of their own.
SUSPECT_SECONDS = 2.0
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class GuardRefused(httpcore.ConnectError):
    """The guard refused to open a connection; the message says which address and why.

    A ``ConnectError``, so httpx and the SDK report it as a connection failure (never a 500)."""


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def checked_addresses(host: str, port: int, resolve: Resolver | None = None) -> list[str]:
    """The addresses ``host`` resolves to now, if every one is allowed; else ``GuardRefused``."""
    name = host.strip("[]").rstrip(".").lower()
    if name in METADATA_HOSTS:
        raise GuardRefused(f"{name} is a cloud metadata service: the console never calls it.")
    literal = _is_address(name)
    if literal:
        addresses = [name]
    else:
        try:
            addresses = list((resolve or resolve_host)(name, port))
        except (OSError, UnicodeError) as error:
            raise httpcore.ConnectError(f"{name} does not resolve ({error})") from None
        if not addresses:
            raise httpcore.ConnectError(f"{name} does not resolve to any address")
    policy = Policy.from_settings()
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        problem = address_problem(ip, policy)
        if problem is not None:
            where = name if literal else f"{name} now resolves to {ip}, which"
            raise GuardRefused(f"Refused to connect: {where} is {problem}.")
    return addresses


class GuardedAsyncBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, connecting only to addresses ``checked_addresses`` allows."""

    def __init__(self, resolve: Resolver | None = None) -> None:
        self._resolve = resolve
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's signature)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if _is_address(host):
            addresses = checked_addresses(host, port, self._resolve)
        else:
            # Resolving may block (getaddrinfo): off the event loop, within the connect timeout.
            try:
                with anyio.fail_after(timeout):
                    addresses = await anyio.to_thread.run_sync(
                        checked_addresses, host, port, self._resolve, abandon_on_cancel=True
                    )
            except TimeoutError:
                raise httpcore.ConnectTimeout(f"{host} did not resolve in time") from None
        error: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as failed:
                error = failed
        assert error is not None
        raise error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's signature)
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise GuardRefused("The console connects to deployments over TCP only.")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedSyncBackend(httpcore.NetworkBackend):
    """The blocking twin of ``GuardedAsyncBackend`` (the webhook sender is synchronous)."""

    def __init__(self, resolve: Resolver | None = None) -> None:
        self._resolve = resolve
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        error: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for address in checked_addresses(host, port, self._resolve):
            try:
                return self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as failed:
                error = failed
        assert error is not None
        raise error

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise GuardRefused("The console connects to webhooks over TCP only.")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def _ssl_context() -> ssl.SSLContext:
    return _ssl_context_for(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.cache
def _ssl_context_for(cafile: str | None, capath: str | None) -> ssl.SSLContext:
    # Loading the CA bundle takes a tenth of a second: one context per CA setting serves every
    # client and connection of the process (httpx reads the same environment variables).
    return httpx.create_ssl_context()


def _async_http(resolve: Resolver | None, limits: httpx.Limits) -> httpx.AsyncHTTPTransport:
    context = _ssl_context()
    transport = httpx.AsyncHTTPTransport(verify=context, limits=limits)
    # httpx builds its pool without a way to name the network backend: build it again with ours.
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=context,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=GuardedAsyncBackend(resolve),
    )
    return transport


class GuardedAsyncTransport(httpx.AsyncBaseTransport):
    """The transport of every SDK client the console builds.

    Given a transport, the SDK sends everything over it, so this keeps what the SDK does with its
    own pool: shortly after a 5xx, when the server may be closing the pooled connection without a
    word, a request that is not a plain read goes on a connection of its own (it could not be
    retried if it failed on a dying one)."""

    def __init__(
        self, resolve: Resolver | None = None, *, limits: httpx.Limits = DEFAULT_LIMITS
    ) -> None:
        self._pooled = _async_http(resolve, limits)
        self._fresh = _async_http(
            resolve,
            httpx.Limits(max_connections=limits.max_connections, max_keepalive_connections=0),
        )
        self._suspect_until = 0.0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        fresh = request.method not in _SAFE_METHODS and time.monotonic() < self._suspect_until
        response = await (self._fresh if fresh else self._pooled).handle_async_request(request)
        if response.status_code >= 500:
            self._suspect_until = time.monotonic() + SUSPECT_SECONDS
        return response

    async def aclose(self) -> None:
        await self._pooled.aclose()
        await self._fresh.aclose()


def sync_transport(
    resolve: Resolver | None = None, *, limits: httpx.Limits = DEFAULT_LIMITS
) -> httpx.HTTPTransport:
    context = _ssl_context()
    transport = httpx.HTTPTransport(verify=context, limits=limits)
    transport._pool = httpcore.ConnectionPool(
        ssl_context=context,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=GuardedSyncBackend(resolve),
    )
    return transport


def refusal(error: BaseException) -> GuardRefused | None:
    """The guard's refusal behind ``error`` (an httpx or SDK error), if that is what it was."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, GuardRefused):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None
