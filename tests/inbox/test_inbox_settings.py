"""Per-deployment inbox settings: team admins can make a comment mandatory on every decision."""

from __future__ import annotations

import pytest

from apps.audit.models import AuditEntry
from apps.inbox.models import Decision, InboxPolicy
from tests.fixtures.inbox import REFUND

pytestmark = pytest.mark.django_db


def test_an_admin_requires_comments_on_a_deployment(client, alice, deployment_a):
    client.force_login(alice)
    assert "A demo" in client.get("/inbox/settings/").content.decode()
    r = client.post(f"/inbox/settings/{deployment_a.pk}/", {"comment_required": "on"})
    assert r.status_code == 302
    assert InboxPolicy.objects.get(deployment=deployment_a).comment_required
    entry = AuditEntry.objects.get(action="inbox.policy")
    assert entry.before == {"comment_required": False}
    assert entry.after == {"comment_required": True}


def test_an_operator_cannot_change_the_settings(client, oscar, deployment_a):
    client.force_login(oscar)
    assert "A demo" not in client.get("/inbox/settings/").content.decode()
    r = client.post(f"/inbox/settings/{deployment_a.pk}/", {"comment_required": "on"})
    assert r.status_code == 403
    assert not InboxPolicy.objects.exists()


def test_another_teams_deployment_is_not_found(client, alice, deployment_b):
    client.force_login(alice)
    assert (
        client.post(f"/inbox/settings/{deployment_b.pk}/", {"comment_required": "on"}).status_code
        == 404
    )


def test_a_decision_without_the_required_comment_is_refused(client, oscar, paused, deployment_a):
    InboxPolicy.objects.create(deployment=deployment_a, comment_required=True)
    p = paused("refund_approval", REFUND)
    client.force_login(oscar)
    page = client.get(p.url).content.decode()
    assert "Comment (required on this deployment)" in page
    r = client.post(
        p.url,
        {
            "checkpoint_id": p.checkpoint_id,
            "interrupt_id": [p.row.interrupt_id],
            f"i{p.row.pk}-a0-type": "accept",
            "comment": "  ",
        },
    )
    assert r.status_code == 400
    assert (
        "A comment is required for decisions on &#x27;A demo&#x27;: say why." in r.content.decode()
    )
    assert not Decision.objects.exists()
