"""Why the inbox refuses an action, in sentences for the operator."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils import timezone

from apps.gate.gate import Refused
from apps.inbox.models import Decision


class InboxRefused(Refused):
    """The action cannot be taken as asked; the message says why, for the operator."""


class StaleDecision(InboxRefused):
    """The thread moved on since the form was rendered: ``changes`` says how."""

    def __init__(
        self, message: str, changes: Sequence[str] = (), decisions: Sequence[Decision] = ()
    ):
        super().__init__(message)
        self.changes = list(changes)
        self.decisions = list(decisions)


class AlreadyDecided(StaleDecision):
    """Someone (maybe the same person, double-clicking) decided first."""


def decided_message(decisions: Sequence[Decision]) -> str:
    first = decisions[0]
    when = timezone.localtime(first.decided_at).strftime("%Y-%m-%d %H:%M:%S %Z")
    what = f" ({first.summary})" if first.summary else ""
    return f"Already decided by {first.decided_by_label} at {when}{what}."
