"""Which deployment URLs the console may talk to (server-side request forgery guard).

A team admin types a URL and the console's processes then send requests to it, with the team's API
key, from inside the console's network. So a URL must be ``http(s)``, and every address its host
resolves to must be one a deployment can legitimately live on:

- never link-local (169.254.0.0/16, fe80::/10: where cloud metadata services answer), cloud metadata
  hosts and addresses, unspecified (0.0.0.0, ::), multicast or reserved addresses;
- loopback only where ``settings.ALLOW_LOOPBACK_DEPLOYMENTS`` says so (on in the embedded default,
  off in production mode, for the demo deployment as for any other);
- private ranges (10/8, 172.16/12, 192.168/16, fc00::/7, 100.64/10) unless
  ``settings.ALLOW_PRIVATE_DEPLOYMENTS`` is False: a self-hosted deployment on the company network is
  the normal case for a self-hosted console, so they are allowed by default.

IPv6 addresses that carry an IPv4 address (IPv4-mapped, 6to4, Teredo) are judged by what
they carry too, so ``[2002:a9fe:a9fe::]`` is the metadata address it wraps.

The check runs when a URL is saved; ``apps.deployments.guard`` runs it again on every address each
outbound connection actually goes to, so a host that resolves elsewhere later is refused then.
Redirects are never followed (a 3xx is reported with its target, which is checked here too).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]

# Host names of cloud metadata services: refused before any resolution.
METADATA_HOSTS = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "metadata.azure.internal",
        "instance-data",
        "instance-data.ec2.internal",
    }
)
# Metadata addresses outside link-local (which is refused as a whole anyway).
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, ...
        "169.254.170.2",  # AWS ECS task metadata
        "fd00:ec2::254",  # AWS over IPv6 (a unique-local address)
        "100.100.100.200",  # Alibaba Cloud (shared address space)
        "168.63.129.16",  # Azure wire server (a public address)
    )
)
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")


class UnsafeURLError(ValueError):
    """The URL is not one the console may send requests to; the message says why, in words."""


@dataclass(frozen=True)
class Policy:
    allow_loopback: bool
    allow_private: bool

    @classmethod
    def from_settings(cls) -> Policy:
        # No exemption for the demo deployment: in production mode it may reach loopback only
        # if ALLOW_LOOPBACK_DEPLOYMENTS is on, like any deployment a team admin could re-point.
        return cls(
            allow_loopback=bool(settings.ALLOW_LOOPBACK_DEPLOYMENTS),
            allow_private=settings.ALLOW_PRIVATE_DEPLOYMENTS,
        )


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


# The resolver every check and every guarded connection uses when none is passed. Looked up at
# each call, so a test can stand in a DNS server that changes its answer (no /etc/hosts edits).
resolver: Resolver = system_resolver


def resolve_host(host: str, port: int) -> Sequence[str]:
    return resolver(host, port)


def embedded_ipv4(ip: IPAddress) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (and so reaches): IPv4-mapped, 6to4
    (2002::/16) and Teredo (2001::/32: its server and its client)."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return []
    if ip.ipv4_mapped is not None:
        return [ip.ipv4_mapped]
    if ip.sixtofour is not None:
        return [ip.sixtofour]
    if ip.teredo is not None:
        return list(ip.teredo)
    return []


def address_problem(ip: IPAddress, policy: Policy) -> str | None:
    """Why the console must not connect to ``ip``, or None when it may."""
    for carried in embedded_ipv4(ip):
        problem = address_problem(carried, policy)
        if problem is not None:
            return f"{problem}, wrapped in {ip}"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return None  # judged above, as the IPv4 address it is
    if ip in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if ip.is_unspecified or (isinstance(ip, ipaddress.IPv4Address) and ip in _THIS_NETWORK):
        return "an unspecified address"
    if ip.is_link_local:
        return "a link-local address (169.254.0.0/16 or fe80::/10, where metadata services live)"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_loopback:
        if policy.allow_loopback:
            return None
        return "a loopback address (allowed only when ALLOW_LOOPBACK_DEPLOYMENTS is on)"
    if ip.is_reserved:
        return "a reserved address"
    if not ip.is_global:
        if policy.allow_private:
            return None
        return "a private address (allowed only when ALLOW_PRIVATE_DEPLOYMENTS is on)"
    return None


def check_url(
    url: str,
    policy: Policy | None = None,
    *,
    resolve: Resolver | None = None,
) -> str:
    """Return ``url`` normalised (no trailing slash), or raise ``UnsafeURLError`` saying why the
    console may not use it. Resolves the host: every address it resolves to must be allowed."""
    policy = policy or Policy.from_settings()
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise UnsafeURLError(f"This is not a valid URL ({error}).") from None
    scheme = parts.scheme.lower()
    if scheme not in {"http", "https"}:
        shown = f"{scheme}://" if scheme else "no scheme"
        raise UnsafeURLError(f"Only http:// and https:// URLs are allowed, not {shown}.")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeURLError("The URL has no host name.")
    if parts.username is not None or parts.password is not None:
        raise UnsafeURLError("Put credentials in the API key or the extra headers, not in the URL.")
    if parts.query or parts.fragment:
        raise UnsafeURLError("The URL must not have a query string or a #fragment.")
    if host in METADATA_HOSTS:
        raise UnsafeURLError(f"{host} is a cloud metadata service: the console never calls it.")
    port = port or (443 if scheme == "https" else 80)
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [str(literal)]
    else:
        try:
            addresses = list((resolve or resolve_host)(host, port))
        except (OSError, UnicodeError) as error:
            raise UnsafeURLError(f"The host name {host} does not resolve ({error}).") from None
        if not addresses:
            raise UnsafeURLError(f"The host name {host} does not resolve to any address.")
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        problem = address_problem(ip, policy)
        if problem is not None:
            where = host if literal is not None else f"{host} resolves to {ip}, which"
            raise UnsafeURLError(f"{where} is {problem}: the console may not connect to it.")
    netloc = parts.netloc
    return urlunsplit((scheme, netloc, parts.path.rstrip("/"), "", ""))
