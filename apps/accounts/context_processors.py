from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from apps.accounts.permissions import teams_for
from apps.accounts.selectors import current_team


def teams(request: HttpRequest) -> dict[str, Any]:
    """The user's teams and current team, for the navigation's team switcher."""
    if not request.user.is_authenticated:
        return {}
    return {"nav_teams": teams_for(request.user), "current_team": current_team(request)}
