"""Deciding an agent-inbox (legacy) request from the thread's decision page: accept, edit, respond
and ignore, each resumed as a live run that reaches the real graph."""

from __future__ import annotations

from typing import Any

import pytest

from apps.audit.models import AuditEntry
from apps.inbox.models import Decision, Status
from apps.runs.models import Run
from tests.fixtures.inbox import REFUND

# Runs are relayed in-process: the relay's lease keeper reads the run from its own thread and
# connection, so the rows must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


def _form(p: Any, **fields: Any) -> dict[str, Any]:
    return {"checkpoint_id": p.checkpoint_id, "interrupt_id": [p.row.interrupt_id], **fields}


def _prefix(p: Any) -> str:
    return f"i{p.row.pk}-a0"


def test_the_page_offers_every_allowed_response_beside_the_state(client, oscar, paused):
    p = paused("refund_approval", REFUND)
    client.force_login(oscar)
    r = client.get(p.url)
    assert r.status_code == 200
    html = r.content.decode()
    for value in ("accept", "edit", "response", "ignore"):
        assert f'name="{_prefix(p)}-type" value="{value}"' in html
    assert f'name="{_prefix(p)}-arg-amount" value="120.0"' in html
    assert "arrived broken" in html  # the state beside the form
    assert f'value="{p.checkpoint_id}"' in html


def test_accept_resumes_the_thread_as_a_live_run_and_refunds(client, oscar, paused, drive):
    p = paused("refund_approval", REFUND)
    client.force_login(oscar)
    r = client.post(p.url, _form(p, **{f"{_prefix(p)}-type": "accept", "comment": "ok"}))
    run = Run.objects.get(thread_id=p.thread_id)
    assert r.status_code == 302
    assert r["Location"] == f"/runs/{run.pk}/"
    assert run.kind == "resume"
    assert run.command == {
        "resume": [
            {"type": "accept", "args": {"action": "issue_refund", "args": p.row.actions[0]["args"]}}
        ]
    }
    decision = Decision.objects.get(interrupt=p.row)
    assert decision.decided_by == oscar
    assert decision.run == run
    assert decision.comment == "ok"
    p.row.refresh_from_db()
    assert p.row.status == Status.DECIDED
    entry = AuditEntry.objects.get(action="inbox.answer")
    assert entry.actor == oscar
    assert entry.reason == "ok"
    state = drive(run)
    assert state["values"]["outcome"] == "refunded"
    assert state["values"]["refund"]["amount"] == 120.0


def test_an_edit_is_previewed_then_sent_with_its_json_types(client, oscar, paused, drive):
    p = paused("refund_approval", REFUND)
    client.force_login(oscar)
    fields = _form(
        p,
        **{
            f"{_prefix(p)}-type": "edit",
            f"{_prefix(p)}-arg-amount": "95.5",
            f"{_prefix(p)}-arg-customer": "ACME",
            f"{_prefix(p)}-arg-currency": "USD",
            f"{_prefix(p)}-arg-reason": "arrived broken",
        },
    )
    preview = client.post(p.url, fields)
    assert preview.status_code == 200
    assert not Run.objects.exists()
    html = preview.content.decode()
    assert "Review your edits" in html
    assert '<del class="mono">120.0</del>' in html
    assert '<ins class="mono">95.5</ins>' in html
    token = html.split('name="preview_token" value="')[1].split('"')[0]
    r = client.post(p.url, {**fields, "step": "confirm", "preview_token": token})
    assert r.status_code == 302
    run = Run.objects.get(thread_id=p.thread_id)
    assert run.command is not None
    [response] = run.command["resume"]
    assert response["type"] == "edit"
    assert response["args"]["args"]["amount"] == 95.5  # a number, not "95.5"
    decision = Decision.objects.get(interrupt=p.row)
    assert decision.diff == [
        {
            "action": "issue_refund",
            "key": "amount",
            "before": 120.0,
            "after": 95.5,
            "change": "changed",
        }
    ]
    state = drive(run)
    assert state["values"]["outcome"] == "refunded"
    assert state["values"]["refund"]["amount"] == 95.5


def test_a_confirmation_for_other_edits_is_previewed_again(client, oscar, paused):
    p = paused("refund_approval", REFUND)
    client.force_login(oscar)
    fields = _form(p, **{f"{_prefix(p)}-type": "edit", f"{_prefix(p)}-arg-amount": "10"})
    r = client.post(p.url, {**fields, "step": "confirm", "preview_token": "not-the-token"})
    assert r.status_code == 200
    assert "Review your edits" in r.content.decode()
    assert not Run.objects.exists()


def test_a_value_that_is_not_a_number_is_refused_by_name(client, oscar, paused):
    p = paused("refund_approval", REFUND)
    client.force_login(oscar)
    r = client.post(
        p.url, _form(p, **{f"{_prefix(p)}-type": "edit", f"{_prefix(p)}-arg-amount": "lots"})
    )
    assert r.status_code == 400
    assert "&#x27;amount&#x27; must be a number, not &#x27;lots&#x27;" in r.content.decode()
    assert not Run.objects.exists()


def test_respond_sends_the_text_and_refunds_nothing(client, oscar, paused, drive):
    p = paused("refund_approval", REFUND)
    client.force_login(oscar)
    r = client.post(
        p.url,
        _form(
            p, **{f"{_prefix(p)}-type": "response", f"{_prefix(p)}-text": "Ask for a photo first."}
        ),
    )
    assert r.status_code == 302
    run = Run.objects.get(thread_id=p.thread_id)
    assert run.command == {"resume": [{"type": "response", "args": "Ask for a photo first."}]}
    state = drive(run)
    assert state["values"]["outcome"] == "feedback"
    assert state["values"]["feedback"] == "Ask for a photo first."
    assert state["values"]["refund"] is None


def test_ignore_closes_the_request_without_a_refund(client, oscar, paused, drive):
    p = paused("refund_approval", REFUND)
    client.force_login(oscar)
    r = client.post(p.url, _form(p, **{f"{_prefix(p)}-type": "ignore"}))
    assert r.status_code == 302
    run = Run.objects.get(thread_id=p.thread_id)
    assert run.command == {"resume": [{"type": "ignore", "args": None}]}
    state = drive(run)
    assert state["values"]["outcome"] == "ignored"
    assert state["next"] == []


def test_a_viewer_cannot_decide(client, bob, paused):
    p = paused("refund_approval", REFUND)
    client.force_login(bob)
    r = client.post(p.url, _form(p, **{f"{_prefix(p)}-type": "accept"}))
    assert r.status_code == 403
    assert not Decision.objects.exists()


def test_a_viewer_sees_the_request_but_the_form_is_disabled(client, bob, paused):
    p = paused("refund_approval", REFUND)
    client.force_login(bob)
    html = client.get(p.url).content.decode()
    assert "issue_refund" in html
    assert 'name="step" value="review" disabled' in html
