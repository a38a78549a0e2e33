"""The gate's last check is the input: a value JSON cannot carry is refused before anything is
sent, whichever path built it (here the services, as a task or another view would call them)."""

from __future__ import annotations

import pytest

from apps.audit.models import AuditEntry
from apps.inbox.models import Status
from apps.inbox.services import InboxRefused, do_edit_state
from apps.runs.models import Run
from apps.runs.services import RunRefused, do_start_run
from tests.fixtures.gate import head_checkpoint
from tests.fixtures.inbox import REFUND


def _nested(depth: int) -> list[object]:
    value: list[object] = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "values",
    [{"amount": float("nan")}, {"amount": float("inf")}, {"deep": _nested(200)}],
    ids=["nan", "infinity", "200-deep"],
)
def test_a_state_edit_that_json_cannot_carry_is_refused_before_sending(
    values, oscar, paused, graph_client
):
    p = paused("refund_approval", REFUND)

    with pytest.raises(InboxRefused, match="Refused before sending"):
        do_edit_state(
            user=oscar,
            deployment=p.deployment,
            thread_id=p.thread_id,
            checkpoint_id=p.checkpoint_id,
            values=values,
            as_node="review",
            head_checkpoint_id=p.checkpoint_id,
            interrupt_ids=[p.row.interrupt_id],
        )

    assert head_checkpoint(graph_client, p.thread_id) == p.checkpoint_id
    assert not Run.objects.exists()
    assert not AuditEntry.objects.filter(action="gate.intent").exists()
    p.row.refresh_from_db()
    assert p.row.status == Status.PENDING


@pytest.mark.django_db(transaction=True)
def test_a_run_whose_input_is_too_large_is_refused_before_it_is_queued(oscar, deployment_a):
    with pytest.raises(RunRefused, match="bytes"):
        do_start_run(
            user=oscar,
            deployment=deployment_a,
            thread_id=None,
            kind="input",
            input={"blob": "x" * 2_000_000},
            assistant_id="refund_approval",
        )

    assert not Run.objects.exists()
