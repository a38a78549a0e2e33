"""Reads of the thread index, always scoped to the user's teams through ``deployments_for``.

Other apps call ``threads_for(user)`` and ``get_thread_for(user, deployment_id, thread_id)``.
The list page's filtering, keyset pages and per-status counts live here too, each a fixed number
of queries whatever the size of the index.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Q, QuerySet
from django.db.models.fields.json import KeyTransform
from django.http import Http404

from apps.accounts.permissions import AnyUser
from apps.deployments.selectors import deployments_for
from apps.threads import hooks
from apps.threads.models import SyncState, ThreadIndex, ThreadStatus
from dashboard.keyset import decode_cursor, encode_cursor

# The text-search configuration of the conversation index: "simple" (no stemming, no stop words)
# finds a word as written, in any language. Migration 0003 builds its index with the same one.
FTS_CONFIG = "simple"

SortKey = Literal["-updated", "updated", "-created", "created"]
SORTS: dict[str, tuple[str, bool]] = {
    # name -> (model field, descending)
    "-updated": ("updated_at", True),
    "updated": ("updated_at", False),
    "-created": ("created_at", True),
    "created": ("created_at", False),
}


def threads_for(user: AnyUser) -> QuerySet[ThreadIndex]:
    """Every indexed thread of every deployment the user may view."""
    return ThreadIndex.objects.filter(deployment__in=deployments_for(user))


def get_thread_for(user: AnyUser, deployment_id: int, thread_id: str) -> ThreadIndex:
    """The indexed thread, or 404: for another team's deployment as for an unknown thread."""
    try:
        return (
            threads_for(user)
            .select_related("deployment")
            .get(deployment_id=deployment_id, thread_id=thread_id)
        )
    except ThreadIndex.DoesNotExist:
        raise Http404("No such thread.") from None


def find_thread_ids(user: AnyUser, thread_id: str) -> list[ThreadIndex]:
    """Every indexed copy of ``thread_id`` the user may see (one per deployment that has it)."""
    return list(threads_for(user).filter(thread_id=thread_id).select_related("deployment")[:20])


@dataclass
class ThreadFilter:
    """A validated list filter (see ``forms.ThreadFilterForm``)."""

    deployment_ids: list[int] = field(default_factory=list)
    graph: str = ""
    status: str = ""
    # (key, the values that match): "n=1" matches the number 1 and the string "1".
    metadata: list[tuple[str, list[Any]]] = field(default_factory=list)
    updated_after: datetime | None = None
    updated_before: datetime | None = None
    text: str = ""
    sort: str = "-updated"


def filter_threads(
    qs: QuerySet[ThreadIndex], f: ThreadFilter, *, with_status: bool = True, counting: bool = False
) -> QuerySet[ThreadIndex]:
    """``f`` applied to ``qs``; ``counting``: shaped for ``status_counts`` rather than a page."""
    if f.deployment_ids:
        qs = qs.filter(deployment_id__in=f.deployment_ids)
    if f.graph:
        qs = qs.filter(graph_id=f.graph)
    if with_status and f.status:
        qs = qs.filter(status=f.status)
    for n, (key, candidates) in enumerate(f.metadata):
        match = Q()
        if connection.vendor == "postgresql":
            # JSON containment, which the GIN index on metadata answers (migration 0002). The
            # key is a dict key here: it may hold any character and is never parsed as a path.
            for candidate in candidates:
                match |= Q(metadata__contains={key: candidate})
            qs = qs.filter(match)
            continue
        # Elsewhere: KeyTransform sends the key as a query parameter, likewise never split on
        # "__" into a path or a lookup.
        alias = f"meta_{n}"
        qs = qs.alias(**{alias: KeyTransform(key, "metadata")})
        for candidate in candidates:
            match |= Q(**{alias: candidate})
        qs = qs.filter(match)
    if f.updated_after:
        qs = qs.filter(updated_at__gte=f.updated_after)
    if f.updated_before:
        qs = qs.filter(updated_at__lt=f.updated_before)
    if f.text:
        qs = _text_search(qs, f.text, counting=counting)
    return qs


def _text_search(qs: QuerySet[ThreadIndex], text: str, *, counting: bool) -> QuerySet[ThreadIndex]:
    """The thread id or metadata contains ``text`` (a trigram-indexed LIKE on PostgreSQL), or
    its conversation holds its words: full-text search on PostgreSQL, which the GIN index of
    migration 0003 answers (it indexes exactly this expression), and a LIKE elsewhere. Both
    columns are stored lower-cased."""
    in_ids = Q(search_text__contains=text.lower())
    if connection.vendor != "postgresql":
        return qs.filter(in_ids | Q(messages_text__contains=text.lower()))
    words = SearchQuery(text, config=FTS_CONFIG, search_type="plain")
    said = ThreadIndex.objects.alias(
        conversation=SearchVector("messages_text", config=FTS_CONFIG)
    ).filter(conversation=words)
    if counting:
        # Counts combine both indexes (a BitmapOr) and read only the matches.
        return qs.alias(conversation=SearchVector("messages_text", config=FTS_CONFIG)).filter(
            in_ids | Q(conversation=words)
        )
    # A page: the matches of both sides (each found by its own index) as one set, joined and then
    # sorted. With 100,000 threads (EXPLAIN ANALYZE): 0.8 ms for a term in 11 threads, 7 ms in 1%,
    # 206 ms for a word in 75%. A plain OR instead walks the sort index building a tsvector per
    # row it passes (78 ms at 1%), and an OR of two IN subqueries walks all of it when matches
    # are rare (190 ms for 11 threads).
    named = ThreadIndex.objects.filter(in_ids)
    return qs.filter(pk__in=named.values("pk").union(said.values("pk")))


# --- keyset pages ---------------------------------------------------------------------------


@dataclass
class Page:
    rows: list[ThreadIndex]
    next_cursor: str = ""  # pass as ?after= for the next page
    prev_cursor: str = ""  # pass as ?before= for the previous page


def keyset_page(
    qs: QuerySet[ThreadIndex],
    sort: str,
    *,
    after: str = "",
    before: str = "",
    size: int = 50,
) -> Page:
    """One page in ``sort`` order, strictly after the ``after`` cursor or strictly before the
    ``before`` cursor. One query: it reads ``size + 1`` rows to know whether another page
    exists. Ties on the sort key are broken by id, so no row is skipped or shown twice."""
    column, descending = SORTS.get(sort, SORTS["-updated"])
    backwards = bool(before) and not after
    cursor = decode_cursor(after or before) if (after or before) else None
    # Moving "forward" in a descending list means towards smaller values.
    smaller = descending != backwards
    if cursor is not None:
        value, pk = cursor
        if smaller:
            qs = qs.filter(Q(**{f"{column}__lt": value}) | Q(**{column: value, "id__lt": pk}))
        else:
            qs = qs.filter(Q(**{f"{column}__gt": value}) | Q(**{column: value, "id__gt": pk}))
    order = [f"-{column}", "-id"] if smaller else [column, "id"]
    rows = list(qs.select_related("deployment").order_by(*order)[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()
    page = Page(rows)
    if rows:
        first, last = rows[0], rows[-1]
        has_next = more if not backwards else True
        has_prev = more if backwards else bool(cursor)
        if has_next:
            page.next_cursor = encode_cursor(getattr(last, column), last.pk)
        if has_prev:
            page.prev_cursor = encode_cursor(getattr(first, column), first.pk)
    return page


# Counting every match of a filter over a large index costs a scan of all of them; past this many
# per status a count says "10,000+" instead, so a page costs the same at any size.
COUNT_CAP = 10_000


def status_counts(qs: QuerySet[ThreadIndex], *, cap: int = COUNT_CAP) -> dict[str, int]:
    """Threads per status over ``qs``, each counted up to ``cap + 1`` (more means "cap+").

    One query: per status, COUNT(*) over a LIMITed subquery, glued with UNION ALL, so each status
    stops after cap + 1 index entries.
    """
    parts: list[str] = []
    params: list[Any] = []
    counts = dict.fromkeys(ThreadStatus.values, 0)
    for n, status in enumerate(ThreadStatus.values):
        subquery = qs.filter(status=status).order_by().values("id")[: cap + 1].query
        try:
            sql, sub_params = subquery.sql_with_params()
        except EmptyResultSet:
            # A scope that can match nothing (a team with no deployments yet) has no SQL at all.
            return counts
        # The status is one of our own four constants, never user input.
        parts.append(f"SELECT '{status}', COUNT(*) FROM ({sql}) AS counted_{n}")
        params.extend(sub_params)
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        for status, count in cursor.fetchall():
            counts[str(status)] = int(count)
    return counts


def sync_states(deployment_ids: Sequence[int]) -> dict[int, SyncState]:
    return {s.deployment_id: s for s in SyncState.objects.filter(deployment_id__in=deployment_ids)}


# --- live badge -----------------------------------------------------------------------------


def live_keys(deployment_ids: Iterable[int]) -> set[tuple[int, str]]:
    """(deployment id, thread id) of threads with a console run live right now: the one call
    site of what the runs app registers (``hooks``; one query)."""
    return hooks.live_keys(deployment_ids)
