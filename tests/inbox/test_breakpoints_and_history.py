"""Breakpoints (continue, or edit state then continue) and acting on history (edit the state at an
older checkpoint: a fork, visible in the thread's timeline; mark resolved without resuming)."""

from __future__ import annotations

import json

import pytest

from apps.audit.models import AuditEntry
from apps.inbox.models import Decision, Interrupt, Kind, Status
from apps.runs.models import Run
from tests.fixtures.inbox import REFUND

# Runs are relayed in-process: the relay's lease keeper reads the run from its own thread and
# connection, so the rows must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


def test_a_breakpoint_is_offered_continue_and_never_an_approval_form(client, oscar, paused):
    p = paused("refund_approval", REFUND, interrupt_before=["review"])
    client.force_login(oscar)
    html = client.get(p.url).content.decode()
    assert "Paused at a breakpoint" in html
    assert f'action="/inbox/{p.deployment.pk}/{p.thread_id}/continue/"' in html
    assert "Edit state, then continue" in html
    assert 'id="decision-form"' not in html
    assert "-type" not in html  # no decision radios


def test_continue_runs_on_from_the_breakpoint(client, oscar, paused, drive):
    p = paused("refund_approval", REFUND, interrupt_before=["review"])
    client.force_login(oscar)
    r = client.post(p.url + "continue/", {"checkpoint_id": p.checkpoint_id})
    run = Run.objects.get(thread_id=p.thread_id)
    assert r.status_code == 302
    assert r["Location"] == f"/runs/{run.pk}/"
    assert run.input is None
    assert run.command is None
    assert Decision.objects.get(interrupt=p.row).action == "continue"
    state = drive(run)
    # review ran and now asks its (dynamic) question: a new legacy record is pending.
    assert state["next"] == ["review"]
    new = Interrupt.objects.get(thread_id=p.thread_id, status=Status.PENDING)
    assert new.kind == Kind.LEGACY
    p.row.refresh_from_db()
    assert p.row.status == Status.DECIDED


def test_a_breakpoint_continued_after_a_state_edit(client, oscar, paused, drive, graph_client):
    p = paused("refund_approval", REFUND, interrupt_before=["review"])
    draft = graph_client.get_thread_state(p.thread_id)["values"]["draft"]
    client.force_login(oscar)
    url = p.url + "state/"
    page = client.get(url + f"?checkpoint={p.checkpoint_id}")
    assert page.status_code == 200
    assert (
        "the thread&#x27;s head" in page.content.decode()
        or "the thread's head" in page.content.decode()
    )
    update = {"draft": {**draft, "amount": 80.0}}
    fields = {
        "checkpoint_id": p.checkpoint_id,
        "head_checkpoint_id": p.checkpoint_id,
        "interrupt_id": [""],
        "values": json.dumps(update),
        "as_node": "draft_refund",
        "then_continue": "on",
        "comment": "amount agreed on the phone",
    }
    preview = client.post(url, fields)
    assert preview.status_code == 200
    assert "What this writes" in preview.content.decode()
    assert not Run.objects.exists()
    r = client.post(url, {**fields, "step": "confirm"})
    run = Run.objects.get(thread_id=p.thread_id)
    assert r.status_code == 302
    assert r["Location"] == f"/runs/{run.pk}/"
    entry = AuditEntry.objects.get(action="inbox.update_state")
    assert entry.after is not None
    assert entry.after["values"] == update
    assert entry.after["as_node"] == "draft_refund"
    assert entry.reason == "amount agreed on the phone"
    assert Decision.objects.get(interrupt=p.row).action == "edit_state"
    drive(run)
    asked = Interrupt.objects.get(thread_id=p.thread_id, status=Status.PENDING)
    assert asked.kind == Kind.LEGACY
    assert asked.actions[0]["args"]["amount"] == 80.0


def test_editing_an_older_checkpoint_forks_the_thread_and_shows_in_the_timeline(
    client, oscar, paused, drive, graph_client
):
    p = paused("refund_approval", REFUND)
    graph_client.wait_run(
        p.thread_id,
        assistant_id="refund_approval",
        command={"resume": [{"type": "accept", "args": None}]},
    )
    history = graph_client.get_state_history(p.thread_id, limit=50)
    # The checkpoint after draft_refund ran, about to ask for review.
    older = next(s for s in history if s["next"] == ["review"])
    older_id = older["checkpoint"]["checkpoint_id"]
    head_id = history[0]["checkpoint"]["checkpoint_id"]
    client.force_login(oscar)
    r = client.post(
        p.url + "state/",
        {
            "checkpoint_id": older_id,
            "head_checkpoint_id": head_id,
            "values": json.dumps({"draft": {**older["values"]["draft"], "amount": 60.0}}),
            "as_node": "draft_refund",
            "then_continue": "on",
            "step": "confirm",
        },
    )
    assert r.status_code == 302, r.content.decode()[:3000]
    run = Run.objects.get(thread_id=p.thread_id)
    assert run.kind == "fork"
    state = drive(run)
    assert state["next"] == ["review"]  # the fork asks for review again, with the new amount
    after = AuditEntry.objects.get(action="inbox.update_state").after
    assert after is not None
    fork = after["new_checkpoint_id"]
    history = graph_client.get_state_history(p.thread_id, limit=50)
    forked = next(s for s in history if s["checkpoint"]["checkpoint_id"] == fork)
    assert forked["parent_checkpoint"]["checkpoint_id"] == older_id
    assert forked["metadata"]["source"] == "update"
    timeline = client.get(f"/threads/{p.deployment.pk}/{p.thread_id}/").content.decode()
    assert fork in timeline
    assert (
        Interrupt.objects.get(thread_id=p.thread_id, status=Status.PENDING).actions[0]["args"][
            "amount"
        ]
        == 60.0
    )


def test_mark_resolved_closes_the_thread_without_resuming(client, oscar, paused, graph_client):
    p = paused("refund_approval", REFUND)
    client.force_login(oscar)
    r = client.post(
        p.url + "resolve/",
        {
            "checkpoint_id": p.checkpoint_id,
            "interrupt_id": [p.row.interrupt_id],
            "comment": "duplicate ticket",
        },
    )
    assert r.status_code == 302
    assert not Run.objects.exists()
    p.row.refresh_from_db()
    assert p.row.status == Status.RESOLVED
    assert AuditEntry.objects.get(action="inbox.resolve").reason == "duplicate ticket"
    thread = graph_client.get_thread(p.thread_id)
    assert thread["status"] == "idle"
    assert "outcome" not in (thread["values"] or {})  # nothing was refunded or answered
