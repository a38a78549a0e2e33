"""The audit page: admins read their teams' entries, filtered in the URL and paginated."""

from __future__ import annotations

import datetime as dt

import pytest
from django.http import HttpResponse
from django.utils import timezone

from apps.audit.models import AuditEntry
from apps.audit.services import record
from apps.deployments.models import Deployment


@pytest.fixture
def prod(team_a):
    return Deployment.objects.create(team=team_a, name="Prod", url="http://10.0.0.1")


@pytest.fixture
def entries(alice, bob, charlie, team_a, team_b, prod):
    record(
        actor=alice,
        action="deployment.update",
        target=prod,
        team_id=team_a.pk,
        deployment_id=prod.pk,
        before={"read_only": False},
        after={"read_only": True},
    )
    record(
        actor=bob,
        action="run.start",
        target=prod,
        team_id=team_a.pk,
        deployment_id=prod.pk,
        reason="<b>because</b>",
    )
    record(actor=charlie, action="membership.add", target=team_b, team_id=team_b.pk)


def _results(response: HttpResponse) -> bytes:
    """The entries shown (the action filter's choices name every action)."""
    return response.content.split(b'id="results"')[1]


def test_an_admin_sees_their_teams_entries(client, alice, entries):
    client.force_login(alice)
    response = client.get("/audit/")
    assert response.status_code == 200
    assert b"deployment.update" in _results(response)
    assert b"run.start" in _results(response)
    assert b"membership.add" not in _results(response)  # team B's


def test_untrusted_text_is_escaped(client, alice, entries):
    client.force_login(alice)
    response = client.get("/audit/")
    assert b"<b>because</b>" not in response.content
    assert b"&lt;b&gt;because&lt;/b&gt;" in response.content


@pytest.mark.parametrize(
    ("query", "shown", "hidden"),
    [
        ("actor=bob", b"run.start", b"deployment.update"),
        ("action=deployment.", b"deployment.update", b"run.start"),
        ("action=run.start", b"run.start", b"deployment.update"),
    ],
)
def test_it_filters_in_the_url(client, alice, entries, query, shown, hidden):
    client.force_login(alice)
    response = client.get(f"/audit/?{query}")
    assert shown in _results(response)
    assert hidden not in _results(response)


def test_it_filters_by_deployment_and_date(client, alice, entries, prod):
    client.force_login(alice)
    today = timezone.localdate()
    response = client.get(f"/audit/?deployment={prod.pk}&date_from={today}&date_to={today}")
    assert b"2 entries" in response.content
    yesterday = today - dt.timedelta(days=1)
    response = client.get(f"/audit/?date_to={yesterday}")
    assert b"No entries match" in response.content


def test_a_bad_filter_is_a_400_with_words(client, alice, entries, team_b):
    client.force_login(alice)
    response = client.get("/audit/?date_from=2026-02-10&date_to=2026-02-01")
    assert response.status_code == 400
    assert b"after the" in response.content
    response = client.get("/audit/?date_from=yesterday")
    assert response.status_code == 400
    assert b"Enter a valid date" in response.content


def test_another_teams_deployment_in_the_filter_is_refused(client, alice, entries, team_b):
    theirs = Deployment.objects.create(team=team_b, name="Theirs", url="http://10.0.0.2")
    client.force_login(alice)
    response = client.get(f"/audit/?deployment={theirs.pk}")
    assert response.status_code == 400


def test_it_paginates_and_keeps_the_filters(client, alice, team_a, prod):
    for _ in range(51):
        record(actor=alice, action="deployment.update", target=prod, team_id=team_a.pk)
    client.force_login(alice)

    first = client.get("/audit/?actor=alice")
    second = client.get("/audit/?actor=alice&page=2")

    assert b"Page 1 of 2" in first.content
    assert b'href="/audit/?actor=alice&amp;page=2"' in first.content
    assert second.content.count(b'<td class="mono">deployment.update</td>') == 1


def test_with_htmx_it_answers_the_results_partial(client, alice, entries):
    client.force_login(alice)
    response = client.get("/audit/?actor=bob", headers={"HX-Request": "true"})
    assert response.content.lstrip().startswith(b'<section id="results"')


@pytest.mark.parametrize("persona", ["oscar", "bob"])
def test_non_admins_get_a_403_naming_the_admin_role(client, request, persona, entries):
    client.force_login(request.getfixturevalue(persona))
    response = client.get("/audit/")
    assert response.status_code == 403
    assert b"admin role" in response.content


def test_reading_is_not_audited(client, alice, entries):
    client.force_login(alice)
    before = AuditEntry.objects.count()
    client.get("/audit/")
    client.get("/audit/export.csv")
    assert AuditEntry.objects.count() == before
