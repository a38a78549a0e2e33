"""Deciding a LangChain v1 middleware request: one decision per action, in order; the tools
receive exactly the args the operator approved or edited."""

from __future__ import annotations

import json
from typing import Any

import pytest

from apps.inbox.models import Decision
from apps.runs.models import Run
from tests.fixtures.inbox import SUPPORT

# Runs are relayed in-process: the relay's lease keeper reads the run from its own thread and
# connection, so the rows must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


def _receipts(state: Any) -> dict[str, Any]:
    out = {}
    for message in state["values"]["messages"]:
        if message.get("type") == "tool":
            receipt = json.loads(message["content"].rsplit("\n", 1)[-1])
            out[receipt["tool"]] = receipt
    return out


def test_the_page_offers_one_decision_per_action_in_order(client, oscar, paused):
    p = paused("support_agent", SUPPORT)
    client.force_login(oscar)
    html = client.get(p.url).content.decode()
    first = html.index(f'name="i{p.row.pk}-a0-type" value="approve"')
    second = html.index(f'name="i{p.row.pk}-a1-type" value="approve"')
    assert first < second
    for value in ("edit", "reject", "respond"):
        assert f'name="i{p.row.pk}-a1-type" value="{value}"' in html
    assert "Order A-1001 arrived broken" in html  # the conversation beside the form


def test_one_approved_and_one_edited_reach_the_tools_with_the_edited_args(
    client, oscar, paused, drive
):
    p = paused("support_agent", SUPPORT)
    original_email = p.row.actions[1]["args"]
    client.force_login(oscar)
    a0, a1 = f"i{p.row.pk}-a0", f"i{p.row.pk}-a1"
    fields = {
        "checkpoint_id": p.checkpoint_id,
        "interrupt_id": [p.row.interrupt_id],
        f"{a0}-type": "approve",
        f"{a1}-type": "edit",
        f"{a1}-arg-to": "refunds@example.com",
        f"{a1}-arg-subject": original_email["subject"],
        f"{a1}-arg-body": "Edited by a human.",
    }
    preview = client.post(p.url, fields).content.decode()
    token = preview.split('name="preview_token" value="')[1].split('"')[0]
    r = client.post(p.url, {**fields, "step": "confirm", "preview_token": token})
    assert r.status_code == 302
    run = Run.objects.get(thread_id=p.thread_id)
    edited = {**original_email, "to": "refunds@example.com", "body": "Edited by a human."}
    assert run.command == {
        "resume": {
            "decisions": [
                {"type": "approve"},
                {"type": "edit", "edited_action": {"name": "send_email", "args": edited}},
            ]
        }
    }
    decision = Decision.objects.get(interrupt=p.row)
    assert decision.diff is not None
    assert decision.summary == "approve issue_refund, edit send_email"
    assert {d["key"] for d in decision.diff} == {"to", "body"}
    receipts = _receipts(drive(run))
    assert receipts["issue_refund"]["received"]["amount"] == 42.5
    assert receipts["send_email"]["received"] == edited


def test_reject_with_a_message_and_respond(client, oscar, paused, drive):
    p = paused("support_agent", SUPPORT)
    client.force_login(oscar)
    a0, a1 = f"i{p.row.pk}-a0", f"i{p.row.pk}-a1"
    r = client.post(
        p.url,
        {
            "checkpoint_id": p.checkpoint_id,
            "interrupt_id": [p.row.interrupt_id],
            f"{a0}-type": "reject",
            f"{a0}-text": "Refunds over 40 need a manager.",
            f"{a1}-type": "respond",
            f"{a1}-text": "Email queued by the human.",
        },
    )
    assert r.status_code == 302
    run = Run.objects.get(thread_id=p.thread_id)
    assert run.command is not None
    assert run.command["resume"]["decisions"] == [
        {"type": "reject", "message": "Refunds over 40 need a manager."},
        {"type": "respond", "message": "Email queued by the human."},
    ]
    state = drive(run)
    tools = [m for m in state["values"]["messages"] if m.get("type") == "tool"]
    assert tools[0]["status"] == "error"
    assert "manager" in tools[0]["content"]
    assert tools[1]["content"] == "Email queued by the human."
