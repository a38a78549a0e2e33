"""What the inbox lets a higher layer (the team workflow) hear and say, without importing it:
the workflow registers its functions here in its ``AppConfig.ready()``.

- ``before_decision(user=, deployment=, rows=, resume_values=, action=)``: called once a
  decision is composed and checked, before anything is written or sent; a hook refuses by
  raising (``PermissionDenied`` or an ``InboxRefused``).
- ``item_appeared(team_id)``: called on commit of a sync that opened items (queue their
  notifications at once rather than at the next sweep).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from apps.accounts.permissions import AnyUser
from apps.deployments.models import Deployment
from apps.inbox.models import Interrupt


class BeforeDecision(Protocol):
    def __call__(
        self,
        *,
        user: AnyUser,
        deployment: Deployment,
        rows: Sequence[Interrupt],
        resume_values: Mapping[int, Any],
        action: str,
    ) -> None: ...


ItemAppeared = Callable[[int], None]

_before_decision: list[BeforeDecision] = []
_item_appeared: list[ItemAppeared] = []


def register(*, before_decision: BeforeDecision, item_appeared: ItemAppeared) -> None:
    if before_decision not in _before_decision:
        _before_decision.append(before_decision)
    if item_appeared not in _item_appeared:
        _item_appeared.append(item_appeared)


def before_decision(
    *,
    user: AnyUser,
    deployment: Deployment,
    rows: Sequence[Interrupt],
    resume_values: Mapping[int, Any],
    action: str,
) -> None:
    for hook in _before_decision:
        hook(
            user=user, deployment=deployment, rows=rows, resume_values=resume_values, action=action
        )


def item_appeared(team_id: int) -> None:
    for hook in _item_appeared:
        hook(team_id)
