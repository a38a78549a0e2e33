"""Logging in and out, and the login rate limit that does not reveal which usernames exist."""

from __future__ import annotations

import re
import uuid

import pytest
from django.test import Client

from apps.accounts import throttle
from tests.fixtures.personas import PASSWORD


@pytest.fixture(autouse=True)
def _fresh_counters(monkeypatch):
    # The counters live in the shared Redis: each test counts under keys of its own (clearing the
    # cache would flush other runs' keys too). They expire after a minute.
    monkeypatch.setattr(throttle, "KEY_PREFIX", f"login-failures-test-{uuid.uuid4().hex}")


def _fail(client: Client, username: str, address: str = "10.9.8.7"):
    return client.post(
        "/accounts/login/", {"username": username, "password": "wrong"}, REMOTE_ADDR=address
    )


def _without_tokens(content: bytes) -> str:
    text = content.decode()
    text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", text)
    return re.sub(r'"X-CSRFToken": "[^"]+"', "", text)


def test_it_logs_in_and_redirects_to_next(client, alice):
    response = client.post(
        "/accounts/login/", {"username": "alice", "password": PASSWORD, "next": "/deployments/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/deployments/"
    assert client.get("/deployments/").status_code == 200


def test_it_does_not_redirect_to_another_site(client, alice):
    response = client.post(
        "/accounts/login/",
        {"username": "alice", "password": PASSWORD, "next": "https://evil.example/"},
    )
    assert response["Location"] == "/"


def test_a_wrong_password_keeps_the_username_and_says_nothing_specific(client, alice):
    response = _fail(client, "alice")
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content
    assert b'value="alice"' in response.content


def test_it_logs_out(client, alice):
    client.force_login(alice)
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert client.get("/deployments/").status_code == 302


def test_the_21st_failed_login_in_a_minute_is_refused(client, alice):
    for _ in range(20):
        assert _fail(client, "alice").status_code == 200

    response = client.post(
        "/accounts/login/", {"username": "alice", "password": PASSWORD}, REMOTE_ADDR="10.9.8.7"
    )

    # Refused even with the right password: it is not checked at all.
    assert response.status_code == 429
    assert b"Too many failed logins" in response.content
    assert "_auth_user_id" not in client.session


def test_the_refusal_is_the_same_whether_or_not_the_user_exists(alice):
    existing, missing = Client(), Client()
    for _ in range(20):
        _fail(existing, "alice", "10.0.0.1")
        _fail(missing, "nobody-by-this-name", "10.0.0.2")

    refused_existing = _fail(existing, "alice", "10.0.0.1")
    refused_missing = _fail(missing, "nobody-by-this-name", "10.0.0.2")

    assert refused_existing.status_code == refused_missing.status_code == 429
    assert _without_tokens(refused_existing.content).replace("alice", "X") == _without_tokens(
        refused_missing.content
    ).replace("nobody-by-this-name", "X")


def test_failures_are_counted_per_address_across_usernames(client, alice):
    for number in range(20):
        _fail(client, f"guess-{number}")

    response = _fail(client, "another-guess")

    assert response.status_code == 429


def test_failures_are_counted_per_username_across_addresses(client, alice):
    for number in range(20):
        _fail(client, "alice", address=f"10.0.1.{number}")

    response = _fail(client, "ALICE", address="10.0.2.1")

    assert response.status_code == 429


def test_other_addresses_and_users_are_not_affected(alice, bob):
    attacker = Client()
    for _ in range(20):
        _fail(attacker, "alice", "10.0.0.66")

    response = Client().post(
        "/accounts/login/", {"username": "bob", "password": PASSWORD}, REMOTE_ADDR="10.0.0.7"
    )

    assert response.status_code == 302


def test_twenty_failures_are_still_allowed(client, alice):
    for _ in range(19):
        _fail(client, "alice")

    response = client.post(
        "/accounts/login/", {"username": "alice", "password": PASSWORD}, REMOTE_ADDR="10.9.8.7"
    )

    assert response.status_code == 302
