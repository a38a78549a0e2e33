"""What the inbox lets a higher layer (the team workflow) hear and add, without importing it:
the workflow registers its functions here in its ``AppConfig.ready()``. (Its rules on decisions
are registered on the gate, ``apps.gate.gate``.)

- ``item_appeared(team_id)``: called on commit of a sync that opened items (queue their
  notifications at once rather than at the next sweep).
- ``row_controls(request, items)``: the HTML of an extra cell per listed item (the workflow's
  claim: who holds the item, and the claim / release buttons), keyed by the item's id. The
  inbox list shows the column only when some app provides it.
- ``selection_action``: (label, URL name) of a page that acts on the items ticked in the list
  (the workflow's bulk decision); the list sends the ticked ids there as ``item`` (GET).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from django.http import HttpRequest
from django.utils.safestring import SafeString

from apps.inbox.models import Interrupt

ItemAppeared = Callable[[int], None]
RowControls = Callable[[HttpRequest, Sequence[Interrupt]], dict[int, SafeString]]

_item_appeared: list[ItemAppeared] = []
_row_controls: list[RowControls] = []
_selection_action: list[tuple[str, str]] = []


def register(
    *,
    item_appeared: ItemAppeared | None = None,
    row_controls: RowControls | None = None,
    selection_action: tuple[str, str] | None = None,
) -> None:
    if item_appeared is not None and item_appeared not in _item_appeared:
        _item_appeared.append(item_appeared)
    if row_controls is not None and row_controls not in _row_controls:
        _row_controls.append(row_controls)
    if selection_action is not None:
        _selection_action[:] = [selection_action]


def item_appeared(team_id: int) -> None:
    for hook in _item_appeared:
        hook(team_id)


def has_row_controls() -> bool:
    return bool(_row_controls)


def row_controls(request: HttpRequest, items: Sequence[Interrupt]) -> dict[int, SafeString]:
    cells: dict[int, list[str]] = {}
    for hook in _row_controls:
        for pk, html in hook(request, items).items():
            cells.setdefault(pk, []).append(html)
    return {pk: SafeString("".join(parts)) for pk, parts in cells.items()}


def selection_action() -> tuple[str, str] | None:
    return _selection_action[0] if _selection_action else None
