"""Metrics match a known set of decisions: the pure function, then the page and the CSV export
over the same decisions written in the inbox's tables."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from django.utils import timezone

from apps.inbox.models import Decision, Kind, Status
from apps.workflow.metrics import DecisionFact, compute, percentile

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _fact(
    wait_s: float, decided_day: int, graph: str, operator: str, *choices: tuple[str, str]
) -> DecisionFact:
    decided = T0 + timedelta(days=decided_day)
    return DecisionFact(
        decided_at=decided,
        asked_at=decided - timedelta(seconds=wait_s),
        graph=graph,
        operator=operator,
        choices=choices,
    )


KNOWN = [
    _fact(10, 0, "refund_approval", "oscar", ("issue_refund", "accept")),
    _fact(20, 0, "refund_approval", "alice", ("issue_refund", "ignore")),
    _fact(30, 1, "support_agent", "oscar", ("issue_refund", "approve"), ("send_email", "reject")),
    _fact(40, 1, "support_agent", "oscar", ("issue_refund", "approve"), ("send_email", "approve")),
    _fact(100, 3, "refund_approval", "alice", ("issue_refund", "accept")),
]


def test_percentiles_interpolate_between_ranks():
    assert percentile([10, 20, 30, 40, 100], 50) == 30
    assert percentile([10, 20, 30, 40, 100], 90) == 76  # 40 + (100 - 40) * 0.6
    assert percentile([5], 90) == 5
    assert percentile([], 50) is None


def test_metrics_match_a_known_set_of_decisions():
    now = T0 + timedelta(days=4)
    pending = [now - timedelta(seconds=s) for s in (60, 120, 600)]

    m = compute(KNOWN, pending, now=now)

    assert m.pending == 3
    assert m.pending_oldest_seconds == 600
    assert m.pending_median_seconds == 120
    assert m.decisions == 5
    assert m.actions == 7, "two decisions covered two tool calls each"
    assert m.ttd_median_seconds == 30
    assert m.ttd_p90_seconds == 76
    assert m.by_type == {"accept": 2, "ignore": 1, "approve": 3, "reject": 1}
    assert m.by_graph == {
        "support_agent": {"approve": 3, "reject": 1},
        "refund_approval": {"accept": 2, "ignore": 1},
    }
    assert m.by_tool == {
        "issue_refund": {"accept": 2, "ignore": 1, "approve": 2},
        "send_email": {"reject": 1, "approve": 1},
    }
    assert m.by_operator == {
        "oscar": {"accept": 1, "approve": 3, "reject": 1},
        "alice": {"ignore": 1, "accept": 1},
    }
    assert [(d.isoformat(), c) for d, c in m.by_day] == [
        ("2026-11-02", {"accept": 1, "ignore": 1}),
        ("2026-11-03", {"approve": 3, "reject": 1}),
        ("2026-11-04", {}),
        ("2026-11-05", {"accept": 1}),
    ]
    assert m.types == ["approve", "accept", "ignore", "reject"]


def _decide(item: Any, who: Any, resume_value: Any, waited_s: float) -> None:
    decision = Decision.objects.create(
        interrupt=item,
        team_id=item.team_id,
        deployment_id=item.deployment_id,
        action=Decision.Action.ANSWER,
        resume_value=resume_value,
        decided_by=who,
        decided_by_label=who.get_username(),
        batch=uuid.uuid4(),
    )
    Decision.objects.filter(pk=decision.pk).update(
        decided_at=item.asked_at + timedelta(seconds=waited_s)
    )
    item.status = Status.DECIDED
    item.save()


def test_the_metrics_page_and_its_csv_show_the_known_decisions(
    client, alice, oscar, charlie, deployment_a, deployment_b, item_factory
):
    now = timezone.now()
    legacy = [{"type": "accept", "args": {}}]
    for waited, who in ((10, oscar), (20, alice), (30, oscar), (40, oscar), (100, alice)):
        item = item_factory(deployment_a, asked_at=now - timedelta(hours=2))
        _decide(item, who, legacy, waited)
    mw = item_factory(
        deployment_a,
        Kind.MIDDLEWARE,
        asked_at=now - timedelta(hours=1),
        actions=[
            {"name": "issue_refund", "args": {}, "allowed_decisions": ["approve", "reject"]},
            {"name": "send_email", "args": {}, "allowed_decisions": ["approve", "reject"]},
        ],
    )
    _decide(mw, oscar, {"decisions": [{"type": "approve"}, {"type": "reject"}]}, 60)
    item_factory(deployment_a, asked_at=now - timedelta(minutes=10))  # pending
    other = item_factory(deployment_b, asked_at=now - timedelta(hours=1))  # another team's
    _decide(other, charlie, legacy, 5)
    client.force_login(alice)

    page = client.get("/workflow/metrics/?days=7")
    export = client.get("/workflow/metrics.csv?days=7")

    assert page.status_code == 200
    m = page.context["m"]
    assert m.pending == 1
    assert m.decisions == 6
    assert m.ttd_median_seconds == 35  # of 10, 20, 30, 40, 60, 100
    assert m.ttd_p90_seconds == 80
    assert m.by_type == {"accept": 5, "approve": 1, "reject": 1}
    assert m.by_operator == {
        "oscar": {"accept": 3, "approve": 1, "reject": 1},
        "alice": {"accept": 2},
    }
    html = page.content.decode()
    assert "<b>6</b> decisions in 7 days, on <b>7</b> actions" in html, (
        "the headline counts decisions, the table actions: the page says both"
    )
    assert "<svg" in html
    assert "Decisions per day" in html
    assert "charlie" not in html
    rows = list(csv.DictReader(io.StringIO(export.content.decode())))
    assert export["Content-Type"].startswith("text/csv")
    assert len(rows) == 7
    assert {r["operator"] for r in rows} == {"oscar", "alice"}
    assert sorted(float(r["seconds_to_decision"]) for r in rows) == [10, 20, 30, 40, 60, 60, 100]
    assert {(r["tool"], r["decision"]) for r in rows if r["graph"] == "support_agent"} == {
        ("issue_refund", "approve"),
        ("send_email", "reject"),
    }
