"""``python -m switchboard``: a small terminal console for operators.

    python -m switchboard --url http://127.0.0.1:2024 threads --status interrupted
    python -m switchboard show <thread>
    python -m switchboard stream --assistant chatty --input '{"chunks": 20}'
    python -m switchboard interrupts <thread>
    python -m switchboard resume <thread> --decision approve --decision reject:"too much"

``--url``/``--api-key`` default to ``SWITCHBOARD_URL``/``SWITCHBOARD_API_KEY``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from switchboard._hitl import InterruptRecord, is_paused_at_breakpoint
from switchboard._sync import SyncClient
from switchboard.errors import InputError, SwitchboardError
from switchboard.types import StreamPart

# What ``show`` and ``resume`` print of a conversation, each message whole.
LAST_MESSAGES = 6


def _json_arg(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not JSON: {text!r}") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m switchboard",
        description="Look at and steer runs on a LangGraph deployment.",
    )
    parser.add_argument(
        "--url",
        default=os.environ.get("SWITCHBOARD_URL"),
        help="deployment URL (or SWITCHBOARD_URL)",
    )
    parser.add_argument(
        "--api-key", default=os.environ.get("SWITCHBOARD_API_KEY"), help="or SWITCHBOARD_API_KEY"
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("health", help="is the deployment up, and which version")

    threads = commands.add_parser("threads", help="list threads, newest first")
    threads.add_argument("--status", choices=["idle", "busy", "interrupted", "error"])
    threads.add_argument("--limit", type=int, default=20)
    threads.add_argument("--graph", help="only threads of this graph")

    show = commands.add_parser("show", help="a thread: status, values, interrupts, checkpoints")
    show.add_argument("thread")
    show.add_argument("--history", type=int, default=5, help="checkpoints to list")

    stream = commands.add_parser("stream", help="start a run and print its events live")
    stream.add_argument("thread", nargs="?", help="thread id (default: a new thread)")
    stream.add_argument("--assistant", "-a", help="assistant id or graph name")
    stream.add_argument("--input", type=_json_arg, default=None, help="run input as JSON")
    stream.add_argument(
        "--mode", action="append", dest="modes", help="stream mode (repeat; default values)"
    )
    stream.add_argument("--strategy", default="reject", help="multitask strategy")

    interrupts = commands.add_parser("interrupts", help="what a thread waits on a human for")
    interrupts.add_argument("thread")

    resume = commands.add_parser("resume", help="answer a thread's pending interrupt(s)")
    resume.add_argument("thread")
    resume.add_argument("--id", dest="interrupt_id", help="which interrupt (when several)")
    answer = resume.add_mutually_exclusive_group(required=True)
    answer.add_argument("--value", type=_json_arg, help="the answer as JSON (any format)")
    answer.add_argument(
        "--decision",
        action="append",
        dest="decisions",
        metavar="TYPE[:TEXT]",
        help="one per action, in order: approve, reject[:why], respond:text, accept, "
        "ignore, response:text",
    )
    resume.add_argument("--assistant", "-a")
    return parser


def _decision(text: str) -> Any:
    kind, _, rest = text.partition(":")
    if not rest:
        return kind
    if kind in ("response",):
        return {"type": kind, "args": rest}
    return {"type": kind, "message": rest}


class _Console:
    def __init__(self, client: SyncClient, out: Console) -> None:
        self.client = client
        self.out = out
        self._midline = False  # message tokens are printed inline; events start a new line

    def health(self, _: argparse.Namespace) -> None:
        ok = self.client.health()
        info = self.client.info()
        self.out.print(
            f"[green]up[/] {escape(self.client.url)}  ok={ok.get('ok')}  "
            f"server {escape(str(info.get('version')))}  langgraph "
            f"{escape(str(info.get('langgraph_py_version')))}"
        )

    def threads(self, args: argparse.Namespace) -> None:
        metadata = {"graph_id": args.graph} if args.graph else None
        found = self.client.search_threads(
            status=args.status, limit=args.limit, metadata=metadata, sort_by="updated_at"
        )
        table = Table("status", "graph", "updated", "waiting on")
        # Ids are what an operator copies into the next command: never cut them.
        table.add_column("thread", no_wrap=True, min_width=36)
        for thread in found:
            waiting = sum(len(v) for v in (thread.get("interrupts") or {}).values())
            table.add_row(
                _status(thread["status"]),
                escape(str((thread.get("metadata") or {}).get("graph_id", ""))),
                thread["updated_at"][:19].replace("T", " "),
                str(waiting) if waiting else "",
                thread["thread_id"],
            )
        self.out.print(table)
        total = self.client.count_threads(status=args.status, metadata=metadata)
        self.out.print(f"{len(found)} shown of {total}")

    def show(self, args: argparse.Namespace) -> None:
        thread = self.client.get_thread(args.thread)
        meta = thread.get("metadata") or {}
        self.out.print(
            f"[bold]{thread['thread_id']}[/]  {_status(thread['status'])}  "
            f"graph {escape(str(meta.get('graph_id', '?')))}"
        )
        if thread.get("error"):
            self.out.print(f"[red]error:[/] {escape(json.dumps(thread['error']))}")
        if is_paused_at_breakpoint(thread):
            self.out.print("[yellow]paused at a breakpoint[/]: continue with a run, input null")
        self._values(thread.get("values"), "values")
        self._interrupts(self.client.get_interrupts(args.thread))
        table = Table("step", "source", "next", title="latest checkpoints")
        table.add_column("checkpoint", no_wrap=True, min_width=36)
        for state in self.client.get_state_history(args.thread, limit=args.history):
            checkpoint = state.get("checkpoint")
            metadata = state.get("metadata") or {}
            table.add_row(
                str(metadata.get("step", "")),
                escape(str(metadata.get("source", ""))),
                escape(", ".join(state.get("next") or [])),
                checkpoint["checkpoint_id"] or "" if checkpoint else "",
            )
        self.out.print(table)

    def _values(self, values: Any, title: str) -> None:
        """The state, with its conversation's last messages printed whole (the agent's final
        reply is what an operator wants to read) and the rest of the state clipped."""
        messages = values.get("messages") if isinstance(values, dict) else None
        if isinstance(messages, list) and messages:
            rest = {key: value for key, value in values.items() if key != "messages"}
            text = json.dumps(rest, indent=2, default=str)
            self.out.print(Panel(escape(_clip(text, 2000)), title=f"{title} (without messages)"))
            shown = messages[-LAST_MESSAGES:]
            lines = [_message_line(message) for message in shown]
            heading = f"last {len(shown)} of {len(messages)} messages"
            self.out.print(Panel("\n".join(lines), title=heading))
            return
        text = json.dumps(values, indent=2, default=str)
        self.out.print(Panel(escape(_clip(text, 2000)), title=title))

    def stream(self, args: argparse.Namespace) -> None:
        thread = args.thread or self.client.create_thread()["thread_id"]
        self.out.print(f"thread [bold]{thread}[/]")
        modes = args.modes or ["values"]
        stream = self.client.stream_run(
            thread,
            args.input,
            assistant_id=args.assistant,
            stream_mode=modes,
            multitask_strategy=args.strategy,
        )
        with stream:
            self.out.print(f"run [bold]{stream.run_id}[/]")
            for part in stream:
                self._event(part)
        self.out.print(f"\nthread is now {_status(self.client.get_thread_status(thread))}")

    def _event(self, part: StreamPart) -> None:
        if part.event in ("messages", "messages-tuple") and isinstance(part.data, list):
            chunk = part.data[0] if part.data else {}
            if isinstance(chunk, dict) and isinstance(chunk.get("content"), str):
                self.out.print(escape(chunk["content"]), end="")
                self._midline = True
                return
        if self._midline:
            self.out.print()
            self._midline = False
        text = json.dumps(part.data, default=str)
        self.out.print(f"[cyan]{escape(part.event)}[/] {escape(_clip(text, 300))}")

    def interrupts(self, args: argparse.Namespace) -> None:
        self._interrupts(self.client.get_interrupts(args.thread))

    def _interrupts(self, records: Sequence[InterruptRecord]) -> None:
        if not records:
            self.out.print("no pending interrupts")
            return
        for record in records:
            lines = [f"format {record.format}, node {escape(str(record.node))}"]
            for index, action in enumerate(record.actions, 1):
                lines.append(
                    f"{index}. [bold]{escape(action.name)}[/] "
                    f"{escape(json.dumps(action.args, default=str))}\n"
                    f"   allowed: {', '.join(action.allowed_decisions)}"
                )
                if action.description:
                    lines.append("   " + escape(_clip(action.description, 300)))
            if not record.actions:
                lines.append(escape(_clip(json.dumps(record.raw_value, default=str), 600)))
            title = f"interrupt {record.interrupt_id}"
            self.out.print(Panel("\n".join(lines), title=title, expand=False))

    def resume(self, args: argparse.Namespace) -> None:
        answer = args.value if args.decisions is None else [_decision(d) for d in args.decisions]
        if args.decisions is not None and len(answer) == 1:
            answer = answer[0]
        if args.interrupt_id:
            result = self.client.resume(
                args.thread, by_id={args.interrupt_id: answer}, assistant_id=args.assistant
            )
        else:
            result = self.client.resume(args.thread, answer, assistant_id=args.assistant)
        self._values(result, "after resume")
        self.out.print(f"thread is now {_status(self.client.get_thread_status(args.thread))}")


def _status(status: str) -> str:
    colour = {"idle": "green", "busy": "blue", "interrupted": "yellow", "error": "red"}
    return f"[{colour.get(status, 'white')}]{status}[/]"


def _message_line(message: Any) -> str:
    if not isinstance(message, dict):
        return escape(str(message))
    role = str(message.get("type") or message.get("role") or "?")
    content = message.get("content")
    if isinstance(content, list):
        # Content blocks: the text ones, in order (a tool call has none).
        content = "".join(
            str(block.get("text", "")) if isinstance(block, dict) else str(block)
            for block in content
        )
    text = str(content or "")
    calls = message.get("tool_calls") or []
    if calls and isinstance(calls, list):
        names = ", ".join(str(c.get("name")) for c in calls if isinstance(c, dict))
        text = f"{text} [calls {names}]".strip()
    return f"[bold]{escape(role)}[/]: {escape(text)}"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def main(argv: Sequence[str] | None = None, *, out: Console | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    console = out or Console()
    if not args.url:
        parser.error("give --url or set SWITCHBOARD_URL")
    try:
        with SyncClient(args.url, args.api_key, timeout=args.timeout) as client:
            getattr(_Console(client, console), args.command)(args)
    except InputError as exc:
        console.print(f"[red]refused:[/] {escape(str(exc))}")
        return 2
    except SwitchboardError as exc:
        console.print(f"[red]{type(exc).__name__}:[/] {escape(str(exc))}")
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
