"""The SSRF guard on deployment URLs, with a fake resolver (no network)."""

from __future__ import annotations

import ipaddress

import pytest

from apps.deployments.urlcheck import Policy, UnsafeURLError, address_problem, check_url

STRICT = Policy(allow_loopback=False, allow_private=False)
DEFAULT = Policy(allow_loopback=False, allow_private=True)
DEMO = Policy(allow_loopback=True, allow_private=True)


def resolver(*addresses: str):
    def resolve(host: str, port: int) -> list[str]:
        return list(addresses)

    return resolve


def test_it_accepts_a_public_https_url():
    url = check_url("https://agents.example.com/api/", DEFAULT, resolve=resolver("93.184.215.14"))
    assert url == "https://agents.example.com/api"


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "ftp://example.com/", "gopher://example.com", "example.com", "//x.org"],
)
def test_it_refuses_schemes_other_than_http_and_https(url):
    with pytest.raises(UnsafeURLError, match="Only http:// and https://"):
        check_url(url, DEFAULT, resolve=resolver("93.184.215.14"))


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1]/",
        "http://[::ffff:169.254.169.254]/",
        "http://169.254.1.1:8080/",
    ],
)
def test_it_refuses_link_local_and_metadata_addresses(url):
    with pytest.raises(UnsafeURLError):
        check_url(url, DEMO, resolve=resolver())


def test_it_refuses_a_host_that_resolves_to_the_metadata_address():
    with pytest.raises(UnsafeURLError, match=r"resolves to 169\.254\.169\.254"):
        check_url("http://innocent.example.com/", DEMO, resolve=resolver("169.254.169.254"))


def test_it_refuses_when_any_address_of_the_host_is_forbidden():
    with pytest.raises(UnsafeURLError, match="link-local"):
        check_url("http://two.example.com/", DEMO, resolve=resolver("93.184.215.14", "169.254.0.9"))


@pytest.mark.parametrize(
    "host", ["metadata.google.internal", "METADATA.google.internal.", "metadata"]
)
def test_it_refuses_metadata_host_names_before_resolving(host):
    with pytest.raises(UnsafeURLError, match="metadata"):
        check_url(f"http://{host}/", DEMO, resolve=resolver("93.184.215.14"))


@pytest.mark.parametrize(
    "address", ["100.100.100.200", "168.63.129.16", "fd00:ec2::254", "169.254.170.2"]
)
def test_it_refuses_cloud_metadata_addresses_outside_link_local(address):
    assert address_problem(ipaddress.ip_address(address), DEMO) == "a cloud metadata address"


@pytest.mark.parametrize("address", ["0.0.0.0", "::", "224.0.0.1", "ff02::1", "240.0.0.1"])
def test_it_refuses_unspecified_multicast_and_reserved_addresses(address):
    assert address_problem(ipaddress.ip_address(address), DEMO) is not None


@pytest.mark.parametrize("url", ["http://127.0.0.1:2024", "http://localhost:2024", "http://[::1]/"])
def test_it_refuses_loopback_unless_allowed(url):
    with pytest.raises(UnsafeURLError, match="ALLOW_LOOPBACK_DEPLOYMENTS"):
        check_url(url, DEFAULT, resolve=resolver("127.0.0.1"))
    assert check_url(url, DEMO, resolve=resolver("127.0.0.1")) == url.rstrip("/")


@pytest.mark.parametrize(
    "address", ["10.1.2.3", "172.16.0.5", "192.168.1.10", "fd12::1", "100.64.0.1"]
)
def test_it_allows_private_addresses_unless_the_setting_refuses_them(address):
    assert check_url("http://agent.corp/", DEFAULT, resolve=resolver(address))
    with pytest.raises(UnsafeURLError, match="ALLOW_PRIVATE_DEPLOYMENTS"):
        check_url("http://agent.corp/", STRICT, resolve=resolver(address))


def test_it_refuses_a_host_that_does_not_resolve():
    def fail(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    with pytest.raises(UnsafeURLError, match="does not resolve"):
        check_url("http://nowhere.invalid/", DEFAULT, resolve=fail)


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://user:pass@example.com/", "credentials"),
        ("http://example.com/?a=1", "query string"),
        ("http://example.com/#x", "fragment"),
        ("http:///path", "no host"),
        ("http://example.com:99999/", "not a valid URL"),
    ],
)
def test_it_explains_other_malformed_urls(url, words):
    with pytest.raises(UnsafeURLError, match=words):
        check_url(url, DEFAULT, resolve=resolver("93.184.215.14"))


def test_the_policy_follows_the_settings(settings):
    settings.ALLOW_LOOPBACK_DEPLOYMENTS = False
    settings.ALLOW_PRIVATE_DEPLOYMENTS = False
    assert Policy.from_settings() == STRICT
    settings.ALLOW_PRIVATE_DEPLOYMENTS = True
    assert Policy.from_settings().allow_private
