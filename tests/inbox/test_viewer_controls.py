"""A viewer sees what waits, but no control that looks usable and is refused after submitting."""

from __future__ import annotations

import re

import pytest

from tests.fixtures.inbox import REFUND
from tests.fixtures.workflow import make_item


@pytest.mark.django_db(transaction=True)
def test_a_viewer_sees_the_decision_controls_disabled_and_why(client, bob, paused):
    thread = paused("refund_approval", REFUND)
    client.force_login(bob)

    html = client.get(thread.url).content.decode()

    buttons = re.findall(r"<button[^>]*>", html[html.index('id="decision-form"') :])
    submits = [b for b in buttons if 'type="submit"' in b]
    assert submits
    assert all("disabled" in b for b in submits)
    assert "You need the operator role" in html
    assert f"/workflow/items/{thread.row.pk}/claim/" not in html
    assert "(view only)" in html


@pytest.mark.django_db
def test_a_viewer_gets_no_bulk_selection_in_the_list_and_a_disabled_bulk_button(
    client, bob, deployment_a
):
    item = make_item(deployment_a)
    client.force_login(bob)

    listed = client.get("/inbox/").content.decode()
    overview = client.get("/workflow/").content.decode()

    assert f'id="interrupt-{item.pk}"' in listed
    assert 'name="item"' not in listed
    assert "Bulk decide the selected" not in listed
    assert 'href="/workflow/bulk/"' not in overview
    assert "Bulk decision (needs the operator role)" in overview
