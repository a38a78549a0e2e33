from __future__ import annotations

import json
from typing import Any

from django import template

register = template.Library()


@register.filter
def as_json(value: Any) -> str:
    """Pretty JSON for display (autoescaped by the template like any other text)."""
    return json.dumps(value, indent=2, sort_keys=True, default=str)
