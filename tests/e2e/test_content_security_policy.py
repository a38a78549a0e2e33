"""The console under its Content-Security-Policy in a real browser (issue 14, row 15): the team
switcher works without its old inline handler, an inline script injected into a page does not
run, and the ``shots`` fixture notices the violation (it fails any journey that reports one)."""

from __future__ import annotations

import re
import time

import pytest
from django.contrib.auth.models import User

from apps.accounts.models import Membership, Role, Team
from tests.fixtures.browser import Shots

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_team_switcher_works_with_no_inline_script(shots: Shots, alice: User, team_b: Team):
    Membership.objects.create(user=alice, team=team_b, role=Role.VIEWER)
    page = shots.open(alice)
    page.goto("/accounts/teams/")

    page.select_option("select[name=team]", "team-b")

    page.locator(".flash", has_text="You are now working in Team B.").wait_for()
    assert page.locator("select[name=team]").input_value() == "team-b"
    shots.step(page, "switched team")


def test_an_injected_inline_script_is_blocked_and_reported(shots: Shots, alice: User):
    page = shots.open(alice)
    page.goto("/accounts/teams/")

    page.evaluate(
        """() => {
          const img = document.createElement("img");
          img.setAttribute("onerror", "window.__injected = true");
          img.src = "/no-such-image.png";
          document.body.append(img);
        }"""
    )
    deadline = time.monotonic() + 10
    while not shots.csp_violations and time.monotonic() < deadline:
        time.sleep(0.1)

    assert page.evaluate("() => window.__injected === undefined")
    assert any("script-src" in text for text in shots.csp_violations), shots.csp_violations
    shots.csp_violations.clear()  # expected here: any other journey would fail on it


def test_the_admin_logs_in_through_the_console_and_runs_under_the_policy(shots: Shots):
    root = User.objects.create_superuser("root", "root@example.org", "password")
    shots.can_log_in(root)
    page = shots.open()

    page.goto("/admin/")
    page.wait_for_url(re.compile(r"/admin/login/"))
    page.fill("#id_username", "root")
    page.fill("#id_password", "password")
    page.click("form[action='/accounts/login/'] button[type=submit]")
    page.wait_for_url(re.compile(r"/admin/$"))
    page.goto("/admin/accounts/team/add/")
    page.locator("#id_name").press_sequentially("Team Z")
    # The admin's own script fills the slug from the name: it runs under the policy.
    page.wait_for_function("() => document.getElementById('id_slug').value === 'team-z'")
    shots.step(page, "admin under the policy")
