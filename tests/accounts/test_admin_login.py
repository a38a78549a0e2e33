"""Every login path is throttled by the one mechanism, the console's (issue 14, row 2): the
admin's login page is the console's login, so guessing the demo superuser's password there is
refused like anywhere else, with the same answer whether or not the username exists."""

from __future__ import annotations

import re
import uuid

import pytest
from django.contrib.auth.models import User
from django.test import Client

from apps.accounts import throttle

PASSWORD = "a-long-superuser-password"


@pytest.fixture(autouse=True)
def _fresh_counters(monkeypatch):
    # The counters live in the shared Redis: each test counts under keys of its own.
    monkeypatch.setattr(throttle, "KEY_PREFIX", f"login-failures-test-{uuid.uuid4().hex}")


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser("admin", "admin@localhost", PASSWORD)


def _admin_login(client: Client, username: str, password: str, address: str = "10.9.8.7"):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password, "next": "/admin/"},
        REMOTE_ADDR=address,
    )


def _without_tokens(content: bytes) -> str:
    text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", content.decode())
    return re.sub(r'"X-CSRFToken": "[^"]+"', "", text)


def test_thirty_wrong_admin_passwords_and_the_right_one_is_refused(client, superuser):
    for _ in range(30):
        _admin_login(client, "admin", "wrong")

    response = _admin_login(client, "admin", PASSWORD)

    assert response.status_code == 429
    assert b"Too many failed logins" in response.content
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302


def test_the_admin_login_refuses_a_missing_user_in_the_same_words(db):
    User.objects.create_superuser("root-sam", "sam@localhost", PASSWORD)
    existing, missing = Client(), Client()
    for _ in range(20):
        _admin_login(existing, "root-sam", "wrong", "10.0.0.1")
        _admin_login(missing, "nobody-by-this-name", "wrong", "10.0.0.2")

    refused_existing = _admin_login(existing, "root-sam", "wrong", "10.0.0.1")
    refused_missing = _admin_login(missing, "nobody-by-this-name", "wrong", "10.0.0.2")

    assert refused_existing.status_code == refused_missing.status_code == 429
    assert _without_tokens(refused_existing.content).replace("root-sam", "X") == _without_tokens(
        refused_missing.content
    ).replace("nobody-by-this-name", "X")


def test_failures_on_the_admin_and_the_console_count_together(client, superuser):
    for _ in range(10):
        _admin_login(client, "admin", "wrong")
    for _ in range(10):
        client.post(
            "/accounts/login/", {"username": "admin", "password": "wrong"}, REMOTE_ADDR="10.9.8.7"
        )

    assert _admin_login(client, "admin", PASSWORD).status_code == 429


def test_the_admin_still_logs_a_superuser_in(client, superuser):
    response = _admin_login(client, "admin", PASSWORD)

    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
