"""The Store pages in Chromium, under the Content-Security-Policy: a 200 KB value stays inside
its box (the page does not grow wider than the window), and an admin edits an item through
the form, checked on the real `langgraph dev`."""

from __future__ import annotations

import json
import uuid
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import User

from apps.deployments.models import Deployment
from switchboard import SyncClient
from tests.fixtures.browser import Shots

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_huge_value_does_not_widen_the_page_and_an_admin_edits_an_item(
    shots: Shots, alice: User, deployment_a: Deployment, graph_client: SyncClient
) -> None:
    space = ["browser", uuid.uuid4().hex]
    # One unbroken 200 KB word: nothing to wrap at but what the page's styles allow.
    graph_client.store.put_item(space, "big", {"blob": "x" * 200_000})
    graph_client.store.put_item(space, "pref", {"colour": "teal"})
    page = shots.open(alice)

    query = urlencode({"ns": ".".join(space), "key": "big"})
    page.goto(f"/deployments/{deployment_a.pk}/store/item/?{query}")
    page.locator("pre.memory-value").wait_for()
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], widths
    shots.step(page, "huge value")

    query = urlencode({"ns": ".".join(space), "key": "pref"})
    page.goto(f"/deployments/{deployment_a.pk}/store/item/?{query}")
    page.fill("#e-value", json.dumps({"colour": "green"}))
    page.click("text=Save")
    page.locator(".flash", has_text="Saved 'pref'").wait_for()
    shots.step(page, "edited")
    item = graph_client.store.get_item(space, "pref")
    assert item is not None
    assert item["value"] == {"colour": "green"}
