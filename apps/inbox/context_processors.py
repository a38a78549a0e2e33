from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from apps.inbox.selectors import inbox_count as count_for


def inbox_count(request: HttpRequest) -> dict[str, Any]:
    """``inbox_count`` for the navigation badge: interrupts awaiting the user's teams (empty
    when there are none, so the badge hides)."""
    if not request.user.is_authenticated:
        return {}
    count = count_for(request.user)
    return {"inbox_count": count or ""}
