"""Inbox metrics as a pure function of decision rows: no database, no clock of its own.

Definitions (what the page and the CSV say):

- *pending*: items awaiting a decision now; their *age* is ``now - asked_at``;
- *time to decision*: ``decided_at - asked_at`` of each decision (one per decided item);
  the median and the 90th percentile use linear interpolation between closest ranks (the
  definition of numpy's default and of ``statistics.quantiles(method="inclusive")``);
- *actions decided*: what the decisions covered, one per action, so a decision on a middleware
  interrupt with two tool calls is one decision and two actions;
- *decisions by type*: one count per action decided (a middleware interrupt with two tool
  calls, approved and rejected, counts one ``approve`` and one ``reject``), grouped by graph,
  tool and operator, and by day (in the time zone of the dates given).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta


@dataclass(frozen=True)
class DecisionFact:
    decided_at: datetime
    asked_at: datetime
    graph: str
    operator: str
    # (tool or action name, decision type) for each action the decision covered.
    choices: tuple[tuple[str, str], ...]


@dataclass
class Metrics:
    pending: int = 0
    pending_oldest_seconds: float | None = None
    pending_median_seconds: float | None = None
    decisions: int = 0
    actions: int = 0
    ttd_median_seconds: float | None = None
    ttd_p90_seconds: float | None = None
    by_type: dict[str, int] = field(default_factory=dict)
    by_graph: dict[str, dict[str, int]] = field(default_factory=dict)
    by_tool: dict[str, dict[str, int]] = field(default_factory=dict)
    by_operator: dict[str, dict[str, int]] = field(default_factory=dict)
    by_day: list[tuple[date, dict[str, int]]] = field(default_factory=list)

    @property
    def types(self) -> list[str]:
        """Decision types seen, most frequent first (the charts' legend order)."""
        return sorted(self.by_type, key=lambda t: (-self.by_type[t], t))


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0..100) by linear interpolation; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _grouped(pairs: Iterable[tuple[str, str]]) -> dict[str, dict[str, int]]:
    out: dict[str, Counter[str]] = defaultdict(Counter)
    for group, kind in pairs:
        out[group][kind] += 1
    # Busiest group first.
    return {
        g: dict(c) for g, c in sorted(out.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))
    }


def compute(
    facts: Sequence[DecisionFact],
    pending_asked_at: Sequence[datetime],
    *,
    now: datetime,
    first_day: date | None = None,
    last_day: date | None = None,
) -> Metrics:
    """Metrics over ``facts`` (decisions) and the ``asked_at`` of the pending items.

    ``first_day``..``last_day`` bound the daily series (every day appears, zero or not); by
    default the days of the first and last decision.
    """
    m = Metrics(pending=len(pending_asked_at), decisions=len(facts))
    ages = [(now - asked).total_seconds() for asked in pending_asked_at]
    if ages:
        m.pending_oldest_seconds = max(ages)
        m.pending_median_seconds = percentile(ages, 50)
    waits = [max(0.0, (f.decided_at - f.asked_at).total_seconds()) for f in facts]
    m.ttd_median_seconds = percentile(waits, 50)
    m.ttd_p90_seconds = percentile(waits, 90)
    choices = [(f, tool, kind) for f in facts for tool, kind in f.choices]
    m.actions = len(choices)
    m.by_type = dict(Counter(kind for _, _, kind in choices))
    m.by_graph = _grouped((f.graph or "(no graph)", kind) for f, _, kind in choices)
    m.by_tool = _grouped((tool or "(none)", kind) for _, tool, kind in choices)
    m.by_operator = _grouped((f.operator, kind) for f, _, kind in choices)
    days: dict[date, Counter[str]] = defaultdict(Counter)
    for f, _, kind in choices:
        days[f.decided_at.date()][kind] += 1
    if days or (first_day and last_day):
        start = first_day or min(days)
        end = last_day or max(days)
        day = start
        while day <= end:
            m.by_day.append((day, dict(days.get(day, {}))))
            day += timedelta(days=1)
    return m
