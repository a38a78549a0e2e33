"""CSV and JSON exports of audit entries, streamed so a large log never sits in memory."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from typing import Any

from apps.audit.models import AuditEntry

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
# A cell starting with one of these is a formula to a spreadsheet (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


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


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    if isinstance(value, str) and text.startswith(_FORMULA_START):
        return "'" + text
    return text


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(entries: Iterable[AuditEntry]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(COLUMNS)
    for entry in entries:
        row = as_row(entry)
        yield writer.writerow([_cell(row[column]) for column in COLUMNS])


def json_chunks(entries: Iterable[AuditEntry]) -> Iterator[str]:
    yield "["
    first = True
    for entry in entries:
        yield ("\n" if first else ",\n") + json.dumps(as_row(entry), default=str)
        first = False
    yield "\n]\n"
