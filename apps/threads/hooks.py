"""What the thread pages ask of the runs app, which sits above threads and registers the answers
in its ``AppConfig.ready()``: the live badge and the thread page's links to the console's runs.
With nothing registered (the runs app not installed) no thread is live and no run is linked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from apps.accounts.permissions import AnyUser

LiveKeys = Callable[[list[int]], set[tuple[int, str]]]
ConsoleRuns = Callable[[AnyUser, int, str], dict[str, int]]

_live_keys: list[LiveKeys] = []
_console_runs: list[ConsoleRuns] = []


def register(*, live_keys: LiveKeys, console_runs: ConsoleRuns) -> None:
    if live_keys not in _live_keys:
        _live_keys.append(live_keys)
    if console_runs not in _console_runs:
        _console_runs.append(console_runs)


def live_keys(deployment_ids: Iterable[int]) -> set[tuple[int, str]]:
    """(deployment id, thread id) of threads with a console run live right now."""
    ids = list(deployment_ids)
    keys: set[tuple[int, str]] = set()
    for provider in _live_keys:
        keys |= provider(ids)
    return keys


def console_runs(user: AnyUser, deployment_id: int, thread_id: str) -> dict[str, int]:
    """The console's runs of one thread that ``user`` may see: upstream run id -> run pk."""
    runs: dict[str, int] = {}
    for provider in _console_runs:
        runs.update(provider(user, deployment_id, thread_id))
    return runs
