"""Issue 14, row 11: IPv6 addresses that wrap an IPv4 address (6to4 2002::/16, Teredo 2001::/32,
like IPv4-mapped ::ffff:0:0/96) are judged by the address they wrap, both when a URL is saved and
when the outbound guard connects: a wrapped metadata or loopback address is refused."""

from __future__ import annotations

import pytest

from apps.deployments.guard import GuardRefused, checked_addresses
from apps.deployments.urlcheck import Policy, UnsafeURLError, check_url
from tests.fixtures.dns import FakeDNS

DEFAULT = Policy(allow_loopback=False, allow_private=True)
# Loopback allowed (the embedded default): metadata must still be refused.
EMBEDDED = Policy(allow_loopback=True, allow_private=True)

WRAPPED_METADATA = [
    "2002:a9fe:a9fe::",  # 6to4 of 169.254.169.254
    "2002:a9fe:a9fe:1234:5678:9abc:def0:1",
    "2001:0:4136:e378:8000:63bf:5601:5601",  # Teredo, client 169.254.169.254
    "2001:0:a9fe:a9fe::1",  # Teredo, server 169.254.169.254
]
WRAPPED_LOOPBACK = [
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
]


@pytest.mark.parametrize("address", WRAPPED_METADATA)
def test_a_wrapped_metadata_address_is_refused_even_where_loopback_is_allowed(address):
    with pytest.raises(UnsafeURLError, match="wrapped in"):
        check_url(f"http://[{address}]:8123/", EMBEDDED)


@pytest.mark.parametrize("address", WRAPPED_LOOPBACK)
def test_a_wrapped_loopback_address_is_refused_where_loopback_is(address):
    with pytest.raises(UnsafeURLError, match="loopback"):
        check_url(f"http://[{address}]:8123/", DEFAULT)


@pytest.mark.parametrize("address", WRAPPED_METADATA + WRAPPED_LOOPBACK)
def test_a_host_resolving_to_a_wrapped_address_is_refused(address):
    dns = FakeDNS()
    dns.answer("agents.example.com", [address])
    with pytest.raises(UnsafeURLError, match=f"resolves to {address}"):
        check_url("http://agents.example.com/", DEFAULT, resolve=dns)


@pytest.mark.parametrize("address", WRAPPED_METADATA + WRAPPED_LOOPBACK)
def test_the_guard_refuses_to_connect_to_a_wrapped_address(settings, address):
    settings.ALLOW_LOOPBACK_DEPLOYMENTS = False
    dns = FakeDNS()
    dns.answer("agents.example.com", [address])
    with pytest.raises(GuardRefused, match="wrapped in"):
        checked_addresses("agents.example.com", 443, dns)
    with pytest.raises(GuardRefused, match="wrapped in"):
        checked_addresses(address, 443, dns)


def test_a_6to4_address_of_a_public_host_is_allowed():
    assert (
        check_url("http://[2002:5db8:d70e::1]:8123", DEFAULT) == "http://[2002:5db8:d70e::1]:8123"
    )
