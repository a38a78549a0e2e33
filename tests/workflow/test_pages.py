"""The workflow pages render for the people who may see them, with their htmx partials."""

from __future__ import annotations

from apps.workflow.models import BulkItem
from apps.workflow.services import do_start_bulk


def test_the_overview_lists_my_claims_and_links_the_tools(
    client, oscar, deployment_a, item_factory
):
    item = item_factory(deployment_a)
    client.force_login(oscar)
    client.post(f"/workflow/items/{item.pk}/claim/", {"minutes": "30"})

    html = client.get("/workflow/").content.decode()

    assert f'href="/workflow/items/{item.pk}/"' in html
    assert 'href="/workflow/bulk/"' in html
    assert 'href="/workflow/metrics/"' in html
    assert "/workflow/settings/" not in html  # oscar administers no team


def test_settings_are_for_admins(client, alice, oscar):
    client.force_login(oscar)
    assert client.get("/workflow/settings/").status_code == 403
    client.force_login(alice)
    r = client.get("/workflow/settings/")
    assert r.status_code == 200
    assert "Notification channels" in r.content.decode()


def test_the_bulk_page_carries_the_filter_into_the_confirmation(
    client, oscar, deployment_a, item_factory
):
    item_factory(deployment_a, graph_id="refund_approval")
    item_factory(deployment_a, graph_id="support_agent")
    client.force_login(oscar)

    r = client.get("/workflow/bulk/?graph=support_agent")

    html = r.content.decode()
    assert r.context["total"] == 1
    assert '<input type="hidden" name="graph" value="support_agent">' in html
    assert '<input type="hidden" name="confirm_total" value="1">' in html


def test_a_running_job_page_polls_its_progress(client, oscar, deployment_a, item_factory):
    job = do_start_bulk(user=oscar, action="approve", items=[item_factory(deployment_a)])
    client.force_login(oscar)

    html = client.get(f"/workflow/bulk/{job.pk}/").content.decode()

    assert 'hx-trigger="every 1s"' in html
    assert 'aria-valuenow="0"' in html
    assert BulkItem.objects.get(job=job).outcome == "queued"


def test_another_users_job_is_not_found(client, alice, oscar, deployment_a, item_factory):
    job = do_start_bulk(user=oscar, action="approve", items=[item_factory(deployment_a)])
    client.force_login(alice)

    assert client.get(f"/workflow/bulk/{job.pk}/").status_code == 404


def test_graph_output_is_escaped_in_reports_and_charts(client, oscar, deployment_a, item_factory):
    item = item_factory(deployment_a, graph_id='<script>alert("g")</script>')
    client.force_login(oscar)

    html = (
        client.get(f"/workflow/items/{item.pk}/").content.decode()
        + client.get("/workflow/bulk/").content.decode()
    )

    assert '<script>alert("g")' not in html
