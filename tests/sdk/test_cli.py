"""``python -m switchboard`` against the real `langgraph dev`."""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Iterator

import pytest
from rich.console import Console

from switchboard import SyncClient
from switchboard._cli import main


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=Console(file=out, width=250, color_system=None))
    return code, out.getvalue()


@pytest.fixture
def sync_client(langgraph_url: str) -> Iterator[SyncClient]:
    with SyncClient(langgraph_url) as client:
        yield client


def test_it_lists_threads_and_shows_one(langgraph_url: str, sync_client: SyncClient) -> None:
    thread = sync_client.create_thread(metadata={"graph_id": "flaky"})
    sync_client.wait_run(thread, {}, assistant_id="flaky")
    code, listing = run("--url", langgraph_url, "threads", "--graph", "flaky", "--limit", "50")
    assert code == 0
    assert thread["thread_id"] in listing
    code, shown = run("--url", langgraph_url, "show", thread["thread_id"])
    assert code == 0
    assert "idle" in shown
    assert '"result": "ok"' in shown
    assert "no pending interrupts" in shown


def test_it_streams_a_run_and_prints_the_tokens(
    langgraph_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SWITCHBOARD_URL", langgraph_url)
    code, out = run(
        "stream", "-a", "chatty", "--input", '{"chunks": 4, "rate": 0}', "--mode", "messages-tuple"
    )
    assert code == 0
    assert "Switchboard streams every token" in out
    assert "thread is now idle" in out


def test_it_shows_pending_interrupts_refuses_a_wrong_answer_and_resumes(
    langgraph_url: str, sync_client: SyncClient
) -> None:
    thread = sync_client.create_thread()
    sync_client.wait_run(thread, {"customer": "ACME", "amount": 12}, assistant_id="refund_approval")
    code, shown = run("--url", langgraph_url, "interrupts", thread["thread_id"])
    assert code == 0
    assert "issue_refund" in shown
    assert "allowed: accept, edit, response, ignore" in shown
    code, refused = run(
        "--url", langgraph_url, "resume", thread["thread_id"], "--decision", "approve"
    )
    assert code == 2
    assert "not allowed" in refused
    code, resumed = run(
        "--url", langgraph_url, "resume", thread["thread_id"], "--decision", "accept"
    )
    assert code == 0
    assert '"outcome": "refunded"' in resumed
    assert "thread is now idle" in resumed


def test_it_reports_errors_with_their_kind_and_needs_a_url(
    langgraph_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SWITCHBOARD_URL", raising=False)
    code, out = run("--url", langgraph_url, "show", "00000000-0000-0000-0000-000000000000")
    assert code == 1
    assert "NotFoundError" in out
    assert "404" in out
    with pytest.raises(SystemExit):
        main(["threads"])


def test_python_dash_m_switchboard_runs(langgraph_url: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "switchboard", "--url", langgraph_url, "health"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "up" in result.stdout


def test_show_and_resume_print_the_agents_final_reply_whole(
    langgraph_url: str, sync_client: SyncClient
) -> None:
    thread = sync_client.create_thread()
    ask = "Order A-1001 arrived broken. Please refund $42.50 and email jane@example.com."
    sync_client.wait_run(
        thread, {"messages": [{"role": "user", "content": ask}]}, assistant_id="support_agent"
    )
    decisions = ["--decision", "approve", "--decision", "approve"]
    code, resumed = run("--url", langgraph_url, "resume", thread["thread_id"], *decisions)
    assert code == 0, resumed
    assert "Anything else I can help with?" in resumed
    code, shown = run("--url", langgraph_url, "show", thread["thread_id"])
    assert code == 0
    assert "Here is what happened." in shown
    assert "Anything else I can help with?" in shown
    assert f"human: {ask}" in shown
