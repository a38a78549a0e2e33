"""A Content-Security-Policy with no inline script on every page (issue 14, row 15): every route of
the URLconf answers with the header, in the embedded default and in production mode through a
real Daphne; no template carries an inline script or handler; ``check --deploy`` is clean."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings
from django.test import Client

from dashboard.embedded import BASE_DIR
from tests.fixtures.cross_team import CrossTeam, Route, checked_routes

ROUTES = checked_routes()
TEMPLATES = sorted((BASE_DIR / "templates").rglob("*.html"))
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)


def policy_of(response: Any) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy")
    assert header, f"no Content-Security-Policy header on {response}"
    directives = (part.split() for part in header.split(";") if part.strip())
    return {words[0]: words[1:] for words in directives}


def assert_strict(policy: dict[str, list[str]]) -> None:
    assert policy["script-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]


@pytest.mark.django_db
@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.id)
def test_every_route_answers_with_the_policy(
    route: Route, client: Client, cross_team: CrossTeam, deployment_a: Any
):
    client.force_login(cross_team.a.admin)
    assert_strict(policy_of(client.get(route.url(cross_team.a))))


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/", "/livez", "/nowhere/"])
def test_pages_for_anyone_answer_with_the_policy(path: str, client: Client):
    assert_strict(policy_of(client.get(path)))


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: str(path.relative_to(BASE_DIR)))
def test_no_template_has_an_inline_script_or_handler(template: Path):
    text = template.read_text()
    assert not INLINE_HANDLER.search(text), "an inline on...= handler: move it to static/js/"
    assert not INLINE_SCRIPT.search(text), "an inline <script>: move it to static/js/"
    assert "hx-on" not in text, "hx-on evaluates code: htmx runs with allowEval off"


def test_htmx_is_configured_for_the_policy():
    base = (BASE_DIR / "templates" / "base.html").read_text()
    assert '"allowEval": false' in base
    assert '"includeIndicatorStyles": false' in base


def _production_env(static_root: Path | None = None) -> dict[str, str]:
    env = {
        # The test's own secrets, so the sessions it makes are valid in the production process.
        "SECRET_KEY": settings.SECRET_KEY,
        "FIELD_ENCRYPTION_KEY": ",".join(settings.FIELD_ENCRYPTION_KEYS),
        "ALLOWED_HOSTS": "127.0.0.1",
    }
    if static_root is not None:
        env["STATIC_ROOT"] = str(static_root)
    return env


@pytest.fixture(scope="module")
def collected_static(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What the image build's collectstatic gathers: production pages name their static files by
    its manifest."""
    root = tmp_path_factory.mktemp("static")
    env = {k: v for k, v in os.environ.items() if k != "DEBUG"}
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"],
        cwd=BASE_DIR,
        env={**env, **_production_env(root)},
        check=True,
    )
    return root


def test_check_deploy_is_clean_in_production_mode():
    env = {k: v for k, v in os.environ.items() if k != "DEBUG"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env={**env, **_production_env()},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.django_db(transaction=True)
def test_production_pages_through_daphne_carry_the_policy(
    start_daphne, ws_login, alice, team_a, collected_static
):
    _, url = start_daphne(_production_env(collected_static))
    cookie = ws_login(alice)["Cookie"]
    # Behind the TLS proxy production expects (SECURE_PROXY_SSL_HEADER), so no https redirect.
    proxied = {"X-Forwarded-Proto": "https"}
    with httpx.Client(base_url=url, headers=proxied, timeout=30) as browser:
        login = browser.get("/accounts/login/")
        teams = browser.get("/accounts/teams/", headers={"Cookie": cookie})

    assert login.status_code == 200
    assert teams.status_code == 200
    assert "Team A" in teams.text
    for response in (login, teams):
        assert_strict(policy_of(response))
