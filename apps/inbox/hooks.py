"""What the inbox lets a higher layer (the team workflow) hear, without importing it: the
workflow registers its functions here in its ``AppConfig.ready()``. (Its rules on decisions are
registered on the gate, ``apps.gate.gate``.)

- ``item_appeared(team_id)``: called on commit of a sync that opened items (queue their
  notifications at once rather than at the next sweep).
"""

from __future__ import annotations

from collections.abc import Callable

ItemAppeared = Callable[[int], None]

_item_appeared: list[ItemAppeared] = []


def register(*, item_appeared: ItemAppeared) -> None:
    if item_appeared not in _item_appeared:
        _item_appeared.append(item_appeared)


def item_appeared(team_id: int) -> None:
    for hook in _item_appeared:
        hook(team_id)
