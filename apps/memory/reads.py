"""What the Store, crons and assistants pages read from a deployment: each call through
``apps.deployments.remote.fetch`` (bounded in time, every SDK error a sentence), and the
shapes the pages show.

Namespaces travel in forms and links as their labels joined with dots, the way the server's
``GET /store/items`` takes them: a label cannot contain a dot (the SDK refuses one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from apps.deployments.clients import sync_client_for
from apps.deployments.models import Deployment
from apps.deployments.remote import Outcome, fetch
from apps.threads.diff import StateDiff, diff_values
from dashboard.strict import StrictInputError
from switchboard import NotSupportedError

NAMESPACES_SHOWN = 200
ITEMS_SHOWN = 50
CRONS_SHOWN = 100
ASSISTANTS_SHOWN = 100
VERSIONS_SHOWN = 100
CRON_THREADS_SHOWN = 20
# A thread made by a cron has the cron's run among its first: these are checked.
RUNS_CHECKED = 5
# An item whose JSON is longer than this is shown cut, and not offered for editing in a form.
EDITABLE_CHARS = 200_000
# What a version diff compares: what an operator changes between two versions.
VERSION_FIELDS = ("graph_id", "name", "description", "config", "context", "metadata")


def _named(feature: str, call: Callable[[], Any]) -> Callable[[], Any]:
    """``call``, naming what the page asked for when the server says it lacks the endpoint
    (the page then says so in a sentence: ``apps.deployments.remote.describe``)."""

    def named() -> Any:
        try:
            return call()
        except NotSupportedError as error:
            error.feature = error.feature or feature
            raise

    return named


def parse_namespace(text: str, *, allow_empty: bool = False) -> list[str]:
    """``"users.alice"`` → ``["users", "alice"]``, or a sentence saying what is wrong."""
    text = text.strip()
    if not text:
        if allow_empty:
            return []
        raise StrictInputError("Name a namespace: its labels joined with dots, e.g. users.alice.")
    labels = text.split(".")
    if any(not label for label in labels):
        raise StrictInputError(
            f"{text!r} has an empty label: write a namespace as labels joined with single dots."
        )
    return labels


def dotted(namespace: Any) -> str:
    return ".".join(str(label) for label in namespace) if isinstance(namespace, list) else ""


def store_page(
    deployment: Deployment, prefix: list[str], namespace: list[str], query: str
) -> dict[str, Outcome]:
    client = sync_client_for(deployment)
    calls: dict[str, Any] = {
        "namespaces": _named(
            "the Store",
            lambda: client.store.list_namespaces(prefix=prefix or None, limit=NAMESPACES_SHOWN)[
                "namespaces"
            ],
        ),
    }
    if namespace:
        calls["items"] = _named(
            "Store search",
            lambda: client.store.search_items(namespace, query=query or None, limit=ITEMS_SHOWN)[
                "items"
            ],
        )
    return fetch(calls)


def store_item(deployment: Deployment, namespace: list[str], key: str) -> Outcome:
    client = sync_client_for(deployment)
    return fetch({"item": _named("the Store", lambda: client.store.get_item(namespace, key))})[
        "item"
    ]


@dataclass(frozen=True)
class CronRow:
    cron: dict[str, Any]
    graph: str

    @property
    def cron_id(self) -> str:
        return str(self.cron.get("cron_id", ""))


def crons_page(deployment: Deployment) -> tuple[list[CronRow], Outcome]:
    client = sync_client_for(deployment)
    got = fetch(
        {
            "crons": _named("crons", lambda: client.crons.search(limit=CRONS_SHOWN)),
            "assistants": lambda: client.list_assistants(limit=ASSISTANTS_SHOWN),
        }
    )
    graphs = {
        a.get("assistant_id"): a.get("graph_id", "")
        for a in (got["assistants"].value or [])
        if isinstance(a, dict)
    }
    outcome = got["crons"]
    crons = [c for c in outcome.value or [] if isinstance(c, dict)]
    return [CronRow(c, str(graphs.get(c.get("assistant_id"), "") or "")) for c in crons], outcome


def _made_by(client: Any, thread_id: str, cron_id: str) -> bool:
    runs = client.list_runs(thread_id, limit=RUNS_CHECKED)
    return any(
        ((run.get("kwargs") or {}).get("config") or {}).get("configurable", {}).get("cron_id")
        == cron_id
        for run in runs
        if isinstance(run, dict)
    )


def cron_threads(
    deployment: Deployment, cron_id: str
) -> tuple[dict[str, Any] | None, list[dict[str, Any]], Outcome]:
    """The cron, and the threads its runs made that still exist.

    A cron's run on a new thread gives the thread the cron's metadata (and its assistant), and
    the run carries ``cron_id`` in its config: threads are found by the first and confirmed by
    the second, newest first, at most ``CRON_THREADS_SHOWN``.
    """
    client = sync_client_for(deployment)
    found = fetch({"crons": _named("crons", lambda: client.crons.search(limit=CRONS_SHOWN))})
    crons = found["crons"]
    cron = next(
        (c for c in crons.value or [] if isinstance(c, dict) and c.get("cron_id") == cron_id),
        None,
    )
    if cron is None:
        return None, [], crons
    if cron.get("thread_id"):
        return cron, [{"thread_id": str(cron["thread_id"])}], crons
    metadata = {**(cron.get("metadata") or {}), "assistant_id": cron.get("assistant_id")}
    candidates = fetch(
        {
            "threads": lambda: client.threads.search(
                metadata=metadata, limit=CRON_THREADS_SHOWN, sort_by="created_at", sort_order="desc"
            )
        }
    )["threads"]
    if not candidates.ok:
        return cron, [], candidates
    threads = [t for t in candidates.value or [] if isinstance(t, dict) and t.get("thread_id")]
    checks = fetch(
        {
            str(t["thread_id"]): partial(_made_by, client, str(t["thread_id"]), cron_id)
            for t in threads
        }
    )
    made = [t for t in threads if checks[str(t["thread_id"])].value is True]
    return cron, made, candidates


def assistants_page(deployment: Deployment) -> Outcome:
    client = sync_client_for(deployment)
    listing = _named("assistant search", lambda: client.list_assistants(limit=ASSISTANTS_SHOWN))
    return fetch({"a": listing})["a"]


def assistant_page(deployment: Deployment, assistant_id: str) -> dict[str, Outcome]:
    client = sync_client_for(deployment)
    return fetch(
        {
            "assistant": _named("assistants", lambda: client.get_assistant(assistant_id)),
            "versions": _named(
                "assistant versions",
                lambda: client.assistants.get_versions(assistant_id, limit=VERSIONS_SHOWN),
            ),
        }
    )


def version_view(version: dict[str, Any]) -> dict[str, Any]:
    return {name: version.get(name) for name in VERSION_FIELDS}


def diff_versions(before: dict[str, Any], after: dict[str, Any]) -> StateDiff:
    """What changed from one assistant version to another: the threads' differ, over the
    fields a version carries."""
    return diff_values(version_view(before), version_view(after))
