"""What the graph receives is exactly what the operator approved, read back from the graph.

Each test pauses ``echo_review`` (a demo graph that asks exactly what it is given and stores each
answer untouched in ``received``) on the real ``langgraph dev``, answers on the decision page the
way a browser does (textareas sent with CRLF line breaks), relays the resume and reads the
graph's own state afterwards.
"""

from __future__ import annotations

import html
import re
from typing import Any

import pytest

from apps.inbox.models import Interrupt, Status
from apps.runs.models import Run
from tests.fixtures.inbox import Paused

pytestmark = pytest.mark.django_db(transaction=True)

CONFIG = {"allow_accept": True, "allow_edit": True, "allow_respond": True, "allow_ignore": True}
# Tool arguments that look like an agent-inbox ActionRequest, beside ordinary ones.
LOOKALIKE = {"action": "deploy", "args": "--force", "target": "prod"}
LETTER = "\nDear Jane,\n\n  your refund is on its way.\n\nRegards\n"
WINDOWS = "line one\r\nline two\r\n"


def legacy(args: dict[str, Any], action: str = "run_command") -> list[dict[str, Any]]:
    return [
        {
            "action_request": {"action": action, "args": args},
            "config": CONFIG,
            "description": "Please review",
        }
    ]


def middleware(args: dict[str, Any], name: str = "send_email") -> dict[str, Any]:
    return {
        "action_requests": [{"name": name, "args": args, "description": "Please review"}],
        "review_configs": [
            {"action_name": name, "allowed_decisions": ["approve", "edit", "reject"]}
        ],
    }


def textarea(page: str, name: str) -> str:
    """What a browser submits for the textarea ``name`` as the page shows it: the HTML parser
    drops one newline after the opening tag and reads line breaks as LF; submitting sends CRLF."""
    match = re.search(rf'<textarea[^>]* name="{re.escape(name)}"[^>]*>(.*?)</textarea>', page, re.S)
    assert match, f"no textarea {name!r} on the page"
    text = html.unescape(match.group(1)).replace("\r\n", "\n").replace("\r", "\n")
    return text.removeprefix("\n").replace("\n", "\r\n")


def field_value(page: str, name: str) -> str:
    match = re.search(rf'<input[^>]* name="{re.escape(name)}"[^>]* value="([^"]*)"', page)
    assert match, f"no input {name!r} on the page"
    return html.unescape(match.group(1))


def browser_fields(page: str, prefix: str, keys: list[str]) -> dict[str, str]:
    """Every argument field of one action as the browser sends it untouched."""
    out = {}
    for key in keys:
        name = f"{prefix}-arg-{key}"
        out[name] = (
            textarea(page, name) if f'<textarea id="{name}"' in page else field_value(page, name)
        )
    return out


def _base(p: Paused) -> dict[str, Any]:
    return {"checkpoint_id": p.checkpoint_id, "interrupt_id": [r.interrupt_id for r in p.rows]}


def _confirm(client: Any, p: Paused, fields: dict[str, Any]) -> Run:
    """Submit, check the preview, confirm; the run that carries the resume."""
    first = client.post(p.url, fields)
    assert first.status_code == 200, first.content.decode()[:3000]
    token = re.search(r'name="preview_token" value="([0-9a-f]+)"', first.content.decode())
    assert token, "no preview shown"
    r = client.post(p.url, {**fields, "step": "confirm", "preview_token": token.group(1)})
    assert r.status_code == 302, r.content.decode()[:3000]
    return Run.objects.get(thread_id=p.thread_id)


def _received(drive: Any, run: Run) -> dict[str, Any]:
    return dict(drive(run)["values"].get("received") or {})


def test_legacy_args_named_action_and_args_reach_the_graph_as_arguments(
    client, oscar, paused, drive
):
    p = paused("echo_review", {"asks": [legacy(LOOKALIKE)]})
    client.force_login(oscar)
    prefix = f"i{p.row.pk}-a0"
    page = client.get(p.url).content.decode()
    fields = {
        **_base(p),
        f"{prefix}-type": "edit",
        **browser_fields(page, prefix, list(LOOKALIKE)),
        f"{prefix}-arg-target": "staging",
    }

    run = _confirm(client, p, fields)

    edited = {"action": "deploy", "args": "--force", "target": "staging"}
    assert _received(drive, run) == {
        "0": [{"type": "edit", "args": {"action": "run_command", "args": edited}}]
    }


def test_middleware_args_named_action_and_args_reach_the_graph_as_arguments(
    client, oscar, paused, drive
):
    p = paused("echo_review", {"asks": [middleware(LOOKALIKE, name="deploy_tool")]})
    client.force_login(oscar)
    prefix = f"i{p.row.pk}-a0"
    page = client.get(p.url).content.decode()
    fields = {
        **_base(p),
        f"{prefix}-type": "edit",
        **browser_fields(page, prefix, list(LOOKALIKE)),
        f"{prefix}-arg-action": "rollback",
    }

    run = _confirm(client, p, fields)

    assert _received(drive, run) == {
        "0": {
            "decisions": [
                {
                    "type": "edit",
                    "edited_action": {
                        "name": "deploy_tool",
                        "args": {**LOOKALIKE, "action": "rollback"},
                    },
                }
            ]
        }
    }


@pytest.mark.parametrize("fmt", ["legacy", "middleware"])
def test_an_untouched_multiline_argument_reaches_the_graph_byte_for_byte(
    fmt, client, oscar, paused, drive
):
    args = {"to": "jane@example.com", "body": LETTER, "footer": WINDOWS, "subject": "Refund"}
    ask = legacy(args, "send_email") if fmt == "legacy" else middleware(args)
    p = paused("echo_review", {"asks": [ask]})
    client.force_login(oscar)
    prefix = f"i{p.row.pk}-a0"
    page = client.get(p.url).content.decode()
    fields = {
        **_base(p),
        f"{prefix}-type": "edit",
        **browser_fields(page, prefix, list(args)),
        f"{prefix}-arg-subject": "Your refund",
    }
    # The browser sends CRLF: the untouched letter is not what the form sent back.
    assert fields[f"{prefix}-arg-body"] != LETTER

    preview = client.post(p.url, fields).content.decode()
    assert preview.count('<tr class="changed">') == 1, (
        "the preview calls an untouched field changed"
    )
    run = _confirm(client, p, fields)

    [answer] = _received(drive, run).values()
    sent = (
        answer[0]["args"]["args"]
        if fmt == "legacy"
        else answer["decisions"][0]["edited_action"]["args"]
    )
    assert sent == {**args, "subject": "Your refund"}
    assert sent["body"].encode() == LETTER.encode()
    assert sent["footer"].encode() == WINDOWS.encode()


def test_edited_text_keeps_the_line_breaks_of_the_original(client, oscar, paused, drive):
    args = {"body": "a\nb", "footer": "c\r\nd"}
    p = paused("echo_review", {"asks": [legacy(args, "send_email")]})
    client.force_login(oscar)
    prefix = f"i{p.row.pk}-a0"
    fields = {
        **_base(p),
        f"{prefix}-type": "edit",
        f"{prefix}-arg-body": "a\r\nb\r\nc",
        f"{prefix}-arg-footer": "c\r\nd\r\ne",
    }

    run = _confirm(client, p, fields)

    [answer] = _received(drive, run).values()
    assert answer[0]["args"]["args"] == {"body": "a\nb\nc", "footer": "c\r\nd\r\ne"}


def test_an_edit_that_changes_nothing_is_sent_as_a_plain_accept(client, oscar, paused, drive):
    args = {"body": LETTER, "footer": WINDOWS}
    p = paused("echo_review", {"asks": [legacy(args, "send_email")]})
    client.force_login(oscar)
    prefix = f"i{p.row.pk}-a0"
    page = client.get(p.url).content.decode()
    fields = {**_base(p), f"{prefix}-type": "edit", **browser_fields(page, prefix, list(args))}

    r = client.post(p.url, fields)

    assert r.status_code == 302, r.content.decode()[:3000]  # nothing to preview
    run = Run.objects.get(thread_id=p.thread_id)
    assert _received(drive, run) == {
        "0": [{"type": "accept", "args": {"action": "send_email", "args": args}}]
    }


def test_a_null_answer_is_refused_and_no_run_is_started(client, oscar, paused, graph_client):
    p = paused("echo_review", {"asks": [{"question": "Ship it?"}]})
    client.force_login(oscar)

    r = client.post(p.url, {**_base(p), f"i{p.row.pk}-json": "null"})

    assert r.status_code == 400
    page = r.content.decode()
    assert "is null" in page
    assert ">\nnull</textarea>" in page  # what was typed is still there
    assert not Run.objects.exists()
    assert len(graph_client.list_runs(p.thread_id)) == 1  # only the run that paused it
    assert graph_client.get_thread(p.thread_id)["status"] == "interrupted"
    p.row.refresh_from_db()
    assert p.row.status == Status.PENDING


def test_an_option_containing_quotes_fills_valid_json_and_reaches_the_graph(
    client, oscar, paused, drive
):
    options = ['say "yes"', "it's <fine> & done", "plain"]
    p = paused("echo_review", {"asks": [{"question": "Which one?", "options": options}]})
    client.force_login(oscar)
    page = client.get(p.url).content.decode()
    filled = [html.unescape(v) for v in re.findall(r'data-value="([^"]*)"', page)]
    assert filled == ['"say \\"yes\\""', '"it\'s <fine> & done"', '"plain"']

    r = client.post(p.url, {**_base(p), f"i{p.row.pk}-json": filled[0]})

    assert r.status_code == 302, r.content.decode()[:3000]
    run = Run.objects.get(thread_id=p.thread_id)
    assert _received(drive, run) == {"0": 'say "yes"'}


def test_a_text_question_is_answered_with_text_without_quotes(client, oscar, paused, drive):
    p = paused("echo_review", {"asks": ["What is the order number?"]})
    client.force_login(oscar)
    page = client.get(p.url).content.decode()
    assert f'name="i{p.row.pk}-text"' in page

    r = client.post(p.url, {**_base(p), f"i{p.row.pk}-text": "A-1001\r\nurgent"})

    assert r.status_code == 302, r.content.decode()[:3000]
    run = Run.objects.get(thread_id=p.thread_id)
    assert _received(drive, run) == {"0": "A-1001\nurgent"}


def test_two_of_three_parallel_interrupts_are_answered_now_and_the_third_later(
    client, oscar, paused, drive
):
    asks = [{"question": f"Reviewer {n}?", "options": ["approve", "reject"]} for n in range(3)]
    p = paused("echo_review", {"asks": asks})
    assert len(p.rows) == 3
    by_question = {r.raw_value["question"]: r for r in p.rows}
    first, second, third = (by_question[f"Reviewer {n}?"] for n in range(3))
    client.force_login(oscar)
    page = client.get(p.url).content.decode()
    assert " required" not in page.split('id="decision-form"')[1].split("</form>")[0]

    r = client.post(
        p.url,
        {
            **_base(p),
            f"i{first.pk}-json": '"approve"',
            f"i{second.pk}-json": '"reject"',
            f"i{third.pk}-json": "",
        },
    )

    assert r.status_code == 302, r.content.decode()[:3000]
    run = Run.objects.get(thread_id=p.thread_id)
    assert run.command == {"resume": {first.interrupt_id: "approve", second.interrupt_id: "reject"}}
    assert _received(drive, run) == {"0": "approve", "1": "reject"}
    later = Paused(
        p.deployment,
        p.thread_id,
        list(Interrupt.objects.filter(thread_id=p.thread_id, status=Status.PENDING)),
    )
    assert [r.raw_value for r in later.rows] == [asks[2]]

    page = client.get(p.url).content.decode()
    assert "Reviewer 2?" in page
    r = client.post(p.url, {**_base(later), f"i{later.row.pk}-json": '"approve"'})

    assert r.status_code == 302, r.content.decode()[:3000]
    last = Run.objects.filter(thread_id=p.thread_id).latest("pk")
    state = drive(last)
    assert state["values"]["received"] == {"0": "approve", "1": "reject", "2": "approve"}
    assert state["next"] == []


def test_nothing_answered_of_several_is_refused(client, oscar, paused):
    p = paused("echo_review", {"asks": ["a?", "b?"]})
    client.force_login(oscar)

    r = client.post(p.url, _base(p))

    assert r.status_code == 400
    assert "answer at least one" in r.content.decode()
    assert not Run.objects.exists()


def test_a_200_kb_value_is_shown_bounded_and_whole_one_click_away(client, oscar, paused):
    big = "x" * 200_000
    p = paused("echo_review", {"asks": [{"question": "Read this", "blob": big}]})
    client.force_login(oscar)

    page = client.get(p.url).content.decode()

    preview = re.search(r'<pre class="raw value-preview">(.*?)</pre>', page, re.S)
    assert preview
    assert len(preview.group(1)) < 5_000
    assert "more characters)" in preview.group(1)
    whole = re.search(
        r"<details class=\"whole-value\">.*?<pre class=\"raw\">(.*?)</pre>", page, re.S
    )
    assert whole
    assert big in whole.group(1)


def test_parallel_review_takes_one_reviewer_now_and_the_other_later(client, oscar, paused, drive):
    p = paused("parallel_review", {})
    legal = next(r for r in p.rows if r.raw_value["branch"] == "legal")
    finance = next(r for r in p.rows if r.raw_value["branch"] == "finance")
    client.force_login(oscar)

    r = client.post(
        p.url, {**_base(p), f"i{legal.pk}-json": '"approve"', f"i{finance.pk}-json": ""}
    )

    assert r.status_code == 302, r.content.decode()[:3000]
    first = Run.objects.get(thread_id=p.thread_id)
    state = drive(first)
    assert state["values"]["legal"] == "approve"
    assert "decision" not in state["values"]
    [pending] = Interrupt.objects.filter(thread_id=p.thread_id, status=Status.PENDING)
    assert pending.raw_value == finance.raw_value

    later = Paused(p.deployment, p.thread_id, [pending])
    r = client.post(p.url, {**_base(later), f"i{pending.pk}-json": '{"approved": true}'})

    assert r.status_code == 302, r.content.decode()[:3000]
    state = drive(Run.objects.filter(thread_id=p.thread_id).latest("pk"))
    assert state["values"]["finance"] == {"approved": True}
    assert state["values"]["decision"] == "approved"
