"""CSV and JSON exports of the audit log, for admins, with the page's filters."""

from __future__ import annotations

import csv
import io
import json

import pytest

from apps.audit.services import record
from apps.deployments.models import Deployment


@pytest.fixture
def prod(team_a):
    return Deployment.objects.create(team=team_a, name="Prod", url="http://10.0.0.1")


@pytest.fixture
def entries(alice, charlie, team_a, team_b, prod):
    record(
        actor=alice,
        action="deployment.update",
        target=prod,
        team_id=team_a.pk,
        deployment_id=prod.pk,
        before={"read_only": False},
        after={"read_only": True},
        reason='=HYPERLINK("http://evil")',
    )
    record(actor=charlie, action="membership.add", target=team_b, team_id=team_b.pk)


def _body(response) -> str:
    return b"".join(response.streaming_content).decode()


def test_it_exports_csv(client, alice, entries):
    client.force_login(alice)

    response = client.get("/audit/export.csv")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(_body(response))))
    assert [row["action"] for row in rows] == ["deployment.update"]
    assert rows[0]["actor"] == "alice"
    assert json.loads(rows[0]["after"]) == {"read_only": True}
    # A cell a spreadsheet would run as a formula is defused.
    assert rows[0]["reason"].startswith("'=")


def test_it_exports_json_with_the_filters(client, alice, entries, prod):
    client.force_login(alice)

    response = client.get(f"/audit/export.json?deployment={prod.pk}&action=deployment.")

    data = json.loads(_body(response))
    assert len(data) == 1
    assert data[0]["deployment"] == "Prod"
    assert data[0]["before"] == {"read_only": False}


def test_an_empty_export_is_valid_json(client, alice, entries):
    client.force_login(alice)
    response = client.get("/audit/export.json?actor=nobody")
    assert json.loads(_body(response)) == []


def test_a_bad_filter_is_a_400_with_words(client, alice, entries):
    client.force_login(alice)
    response = client.get("/audit/export.csv?date_from=soon")
    assert response.status_code == 400
    assert b"date_from: Enter a valid date" in response.content


@pytest.mark.parametrize("url", ["/audit/export.csv", "/audit/export.json"])
def test_viewers_cannot_export(client, bob, entries, url):
    client.force_login(bob)
    response = client.get(url)
    assert response.status_code == 403
    assert b"admin role" in response.content
