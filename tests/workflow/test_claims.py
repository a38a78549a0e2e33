"""Claiming an inbox item: others see who handles it until when, the claim expires by itself, an
admin can break it, and deciding releases it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from apps.accounts.models import Membership, Role
from apps.audit.models import AuditEntry
from apps.workflow.models import Claim
from tests.fixtures.inbox import REFUND


@pytest.fixture
def olga(team_a):
    user = User.objects.create_user("olga", "olga@example.org", "password")
    Membership.objects.create(user=user, team=team_a, role=Role.OPERATOR)
    return user


def test_an_operator_claims_an_item_and_others_see_who_and_until_when(
    client, oscar, olga, deployment_a, item_factory
):
    item = item_factory(deployment_a)
    client.force_login(oscar)

    r = client.post(f"/workflow/items/{item.pk}/claim/", {"minutes": "30"})

    assert r.status_code == 302
    claim = Claim.objects.get(interrupt=item)
    assert claim.claimed_by == oscar
    assert timedelta(minutes=29) < claim.expires_at - timezone.now() <= timedelta(minutes=30)
    assert AuditEntry.objects.filter(action="workflow.claim", actor=oscar).count() == 1
    client.force_login(olga)
    page = client.get(f"/workflow/items/{item.pk}/").content.decode()
    assert "oscar handles this item" in page
    assert claim.expires_at.isoformat()[:16] in page or "until" in page


def test_a_live_claim_refuses_someone_elses_claim(client, oscar, olga, deployment_a, item_factory):
    item = item_factory(deployment_a)
    client.force_login(oscar)
    client.post(f"/workflow/items/{item.pk}/claim/", {"minutes": "30"})
    client.force_login(olga)

    r = client.post(f"/workflow/items/{item.pk}/claim/", {"minutes": "30"})

    assert r.status_code == 409
    assert "oscar handles this item until" in r.content.decode()
    assert Claim.objects.get(interrupt=item).claimed_by == oscar


def test_a_claim_expires_by_itself(client, oscar, olga, deployment_a, item_factory):
    item = item_factory(deployment_a)
    client.force_login(oscar)
    client.post(f"/workflow/items/{item.pk}/claim/", {"minutes": "15"})
    # Fifteen minutes later (no task runs for a claim to expire):
    Claim.objects.filter(interrupt=item).update(expires_at=timezone.now() - timedelta(seconds=1))
    client.force_login(olga)

    page = client.get(f"/workflow/items/{item.pk}/").content.decode()
    r = client.post(f"/workflow/items/{item.pk}/claim/", {"minutes": "15"})

    assert "Nobody has claimed this item." in page
    assert r.status_code == 302
    assert Claim.objects.get(interrupt=item).claimed_by == olga


def test_an_htmx_claim_swaps_the_panel(client, oscar, deployment_a, item_factory):
    item = item_factory(deployment_a)
    client.force_login(oscar)

    r = client.post(
        f"/workflow/items/{item.pk}/claim/", {"minutes": "60"}, headers={"HX-Request": "true"}
    )

    assert r.status_code == 200
    assert r["HX-Trigger"] == "workflow-item-changed"
    assert f'id="workflow-item-{item.pk}"' in r.content.decode()
    assert "You handle this item" in r.content.decode()


def test_the_holder_releases_a_claim(client, oscar, deployment_a, item_factory):
    item = item_factory(deployment_a)
    client.force_login(oscar)
    client.post(f"/workflow/items/{item.pk}/claim/", {"minutes": "30"})

    r = client.post(f"/workflow/items/{item.pk}/release/")

    assert r.status_code == 302
    assert not Claim.objects.filter(interrupt=item).exists()
    assert AuditEntry.objects.filter(action="workflow.release").count() == 1


def test_an_admin_breaks_a_claim_and_says_why(client, alice, oscar, deployment_a, item_factory):
    item = item_factory(deployment_a)
    client.force_login(oscar)
    client.post(f"/workflow/items/{item.pk}/claim/", {"minutes": "240"})
    client.force_login(alice)

    r = client.post(f"/workflow/items/{item.pk}/break/", {"reason": "oscar is off sick"})

    assert r.status_code == 302
    assert not Claim.objects.filter(interrupt=item).exists()
    entry = AuditEntry.objects.get(action="workflow.break_claim")
    assert entry.actor == alice
    assert (entry.before or {})["claimed_by"] == "oscar"
    assert entry.reason == "oscar is off sick"


def test_an_operator_cannot_break_someone_elses_claim(
    client, oscar, olga, deployment_a, item_factory
):
    item = item_factory(deployment_a)
    client.force_login(oscar)
    client.post(f"/workflow/items/{item.pk}/claim/", {"minutes": "30"})
    client.force_login(olga)

    r = client.post(f"/workflow/items/{item.pk}/break/")

    assert r.status_code == 403
    assert Claim.objects.get(interrupt=item).claimed_by == oscar


@pytest.mark.django_db(transaction=True)
def test_deciding_releases_the_claim(client, oscar, paused):
    p = paused("refund_approval", REFUND)
    client.force_login(oscar)
    client.post(f"/workflow/items/{p.row.pk}/claim/", {"minutes": "30"})

    r = client.post(
        p.url,
        {
            "checkpoint_id": p.checkpoint_id,
            "interrupt_id": [p.row.interrupt_id],
            f"i{p.row.pk}-a0-type": "accept",
        },
    )

    assert r.status_code == 302
    assert not Claim.objects.filter(interrupt=p.row).exists()


@pytest.mark.django_db(transaction=True)
def test_someone_elses_claim_refuses_a_decision(client, oscar, olga, paused):
    p = paused("refund_approval", REFUND)
    client.force_login(oscar)
    client.post(f"/workflow/items/{p.row.pk}/claim/", {"minutes": "30"})
    client.force_login(olga)

    r = client.post(
        p.url,
        {
            "checkpoint_id": p.checkpoint_id,
            "interrupt_id": [p.row.interrupt_id],
            f"i{p.row.pk}-a0-type": "accept",
        },
    )

    assert r.status_code == 400
    assert "oscar has claimed this item until" in r.content.decode()
    p.row.refresh_from_db()
    assert p.row.status == "pending"
