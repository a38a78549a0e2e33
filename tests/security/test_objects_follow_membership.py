"""Bulk jobs, their reports and claims are seen through the team permission layer, never by their
creator alone (issue 14, row 7): someone removed from the team loses them."""

from __future__ import annotations

import pytest

from apps.accounts.models import Membership
from apps.workflow.models import BulkJob

pytestmark = pytest.mark.django_db


def test_a_member_removed_from_the_team_loses_their_bulk_jobs_and_reports(
    client, alice, oscar, team_a, deployment_a, item_factory
):
    item_factory(deployment_a)
    client.force_login(oscar)
    client.post("/workflow/bulk/", {"decision": "approve", "confirm_total": "1"})
    job = BulkJob.objects.get(created_by=oscar)
    assert client.get(f"/workflow/bulk/{job.pk}/").status_code == 200
    assert client.get(f"/workflow/bulk/{job.pk}/report.csv").status_code == 200

    client.force_login(alice)
    membership = Membership.objects.get(user=oscar, team=team_a)
    removed = client.post(f"/accounts/teams/{team_a.slug}/members/{membership.pk}/remove/")
    assert removed.status_code == 302

    client.force_login(oscar)
    assert client.get(f"/workflow/bulk/{job.pk}/").status_code == 404
    assert client.get(f"/workflow/bulk/{job.pk}/report.csv").status_code == 404
    assert job.pk not in [j.pk for j in client.get("/workflow/").context["jobs"]]


def test_a_member_removed_from_the_team_no_longer_sees_their_claims(
    client, alice, oscar, team_a, deployment_a, item_factory
):
    item = item_factory(deployment_a)
    link = f'href="/workflow/items/{item.pk}/"'
    client.force_login(oscar)
    client.post(f"/workflow/items/{item.pk}/claim/", {"minutes": "30"})
    assert link in client.get("/workflow/").content.decode()

    Membership.objects.filter(user=oscar, team=team_a).delete()

    assert link not in client.get("/workflow/").content.decode()
