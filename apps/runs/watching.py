"""Following runs the console did not start: the deployment's own applications start most runs.

A followed run is a ``Run`` of origin "follow" whose upstream run id is known from the start, so
its relay never creates a run: it joins the upstream run's stream (``_Follow.open`` in
``apps.runs.relay``), stores into the same event log, finalises once when the upstream run ends,
and never cancels it unless an operator asks (the console's own cancel, through the gate).

Where the upstream run is resumable its whole stream is replayed (``Last-Event-ID: 0-0``), and a
relay taking over rejoins after the last event stored, as for the console's own runs. Otherwise
the deployment keeps no events to replay: the relay joins from now, and so does a takeover.
"""

from __future__ import annotations

from typing import Any

from apps.runs.models import FollowFrom, Run
from switchboard.errors import NotFoundError

# What the deployment reports of a run that has not ended yet.
LIVE_UPSTREAM = ("running", "pending")


def live_upstream_run(client: Any, thread_id: str) -> dict[str, Any] | None:
    """The thread's upstream run to follow: the running one, else the next one pending (the
    deployment runs a thread's runs one at a time, oldest first)."""
    try:
        runs = client.list_runs(thread_id, limit=50)
    except NotFoundError:
        return None
    for status in LIVE_UPSTREAM:
        waiting = [run for run in runs if run.get("status") == status]
        if waiting:
            # Newest first from the deployment: the oldest waiting run goes first.
            return dict(waiting[-1])
    return None


def follow_from(upstream: dict[str, Any]) -> FollowFrom:
    """From its start when the deployment keeps the run's events, from now otherwise."""
    kwargs = upstream.get("kwargs") if isinstance(upstream.get("kwargs"), dict) else {}
    return FollowFrom.START if (kwargs or {}).get("resumable") else FollowFrom.NOW


def join_from(run: Run, resume_from: str) -> str | None:
    """The Last-Event-ID the relay joins with: where the log stops, or nothing (from now) when
    the run's events are not kept upstream."""
    return None if run.follow_from == FollowFrom.NOW else resume_from
