"""Claims where the work is: the inbox list and an item's decision page show who holds each
item, and an operator claims and releases it there, in place (htmx)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from apps.accounts.models import Membership, Role
from apps.audit.models import AuditEntry
from apps.workflow.models import Claim
from tests.fixtures.inbox import REFUND


@pytest.fixture
def olga(team_a):
    user = User.objects.create_user("olga", "olga@example.org", "password")
    Membership.objects.create(user=user, team=team_a, role=Role.OPERATOR)
    return user


def _row(html: str, pk: int) -> str:
    row = html[html.index(f'id="interrupt-{pk}"') :]
    return row[: row.index("</tr>")]


def _htmx(pk: int) -> dict[str, str]:
    return {"HX-Request": "true", "HX-Target": f"claim-cell-{pk}"}


@pytest.mark.django_db
def test_an_operator_claims_and_releases_an_item_from_the_list(
    client, oscar, olga, deployment_a, item_factory
):
    item = item_factory(deployment_a)
    client.force_login(oscar)
    row = _row(client.get("/inbox/").content.decode(), item.pk)
    assert "Unclaimed" in row
    assert f'hx-post="/workflow/items/{item.pk}/claim/"' in row

    cell = client.post(f"/workflow/items/{item.pk}/claim/", headers=_htmx(item.pk))

    assert cell.status_code == 200
    html = cell.content.decode()
    assert html.lstrip().startswith(f'<div id="claim-cell-{item.pk}"')
    assert "<strong>You</strong>" in html
    assert "Release" in html
    assert Claim.objects.get(interrupt=item).claimed_by == oscar
    assert AuditEntry.objects.filter(action="workflow.claim", actor=oscar).count() == 1

    client.force_login(olga)
    row = _row(client.get("/inbox/").content.decode(), item.pk)
    assert "<strong>oscar</strong>" in row
    assert "/claim/" not in row
    assert "/release/" not in row

    client.force_login(oscar)
    cell = client.post(f"/workflow/items/{item.pk}/release/", headers=_htmx(item.pk))
    assert "Unclaimed" in cell.content.decode()
    assert not Claim.objects.filter(interrupt=item).exists()
    assert AuditEntry.objects.filter(action="workflow.release", actor=oscar).count() == 1


@pytest.mark.django_db
def test_a_viewer_sees_who_holds_an_item_but_no_claim_button(
    client, oscar, bob, deployment_a, item_factory
):
    item = item_factory(deployment_a)
    client.force_login(oscar)
    client.post(f"/workflow/items/{item.pk}/claim/")
    client.force_login(bob)

    row = _row(client.get("/inbox/").content.decode(), item.pk)

    assert "<strong>oscar</strong>" in row
    assert "/claim/" not in row


@pytest.mark.django_db(transaction=True)
def test_the_holder_is_shown_on_the_decision_page_before_a_second_operator_fills_the_form(
    client, oscar, olga, paused
):
    thread = paused("refund_approval", REFUND)
    item = thread.row
    client.force_login(oscar)
    page = client.get(thread.url).content.decode()
    claim_form = page.index(f'hx-post="/workflow/items/{item.pk}/claim/"')
    assert claim_form < page.index('id="decision-form"')

    client.post(f"/workflow/items/{item.pk}/claim/", headers=_htmx(item.pk))
    client.force_login(olga)
    page = client.get(thread.url).content.decode()

    holder = page.index("<strong>oscar</strong>")
    assert holder < page.index('id="decision-form"')
    assert f"/workflow/items/{item.pk}/claim/" not in page

    client.force_login(oscar)
    page = client.get(thread.url).content.decode()
    assert f'hx-post="/workflow/items/{item.pk}/release/"' in page
    client.post(f"/workflow/items/{item.pk}/release/", headers=_htmx(item.pk))
    client.force_login(olga)
    assert f'hx-post="/workflow/items/{item.pk}/claim/"' in client.get(thread.url).content.decode()
