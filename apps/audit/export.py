"""CSV and JSON exports of audit entries, streamed so a large log never sits in memory. The CSV goes
through the console's one CSV writer (``dashboard.csvsafe``), which defuses formula cells."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from django.http import StreamingHttpResponse

from apps.audit.models import AuditEntry
from dashboard.csvsafe import csv_streaming_response

COLUMNS = [
    "id",
    "created_at",
    "actor",
    "team",
    "deployment",
    "action",
    "target_type",
    "target_id",
    "target_label",
    "before",
    "after",
    "reason",
    "address",
]


def as_row(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.pk,
        "created_at": entry.created_at.isoformat(),
        "actor": entry.actor_label,
        "team": entry.team.name if entry.team else None,
        "deployment": entry.deployment.name if entry.deployment else None,
        "action": entry.action,
        "target_type": entry.target_type,
        "target_id": entry.target_id,
        "target_label": entry.target_label,
        "before": entry.before,
        "after": entry.after,
        "reason": entry.reason,
        "address": entry.address,
    }


def csv_download(entries: Iterable[AuditEntry]) -> StreamingHttpResponse:
    rows = ([row[column] for column in COLUMNS] for row in map(as_row, entries))
    return csv_streaming_response("switchboard-audit.csv", COLUMNS, rows)


def json_chunks(entries: Iterable[AuditEntry]) -> Iterator[str]:
    yield "["
    first = True
    for entry in entries:
        yield ("\n" if first else ",\n") + json.dumps(as_row(entry), default=str)
        first = False
    yield "\n]\n"
