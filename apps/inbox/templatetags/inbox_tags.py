from __future__ import annotations

import json
from typing import Any

from django import template

register = template.Library()


@register.filter
def tojson(value: Any) -> str:
    """A JSON value as compact JSON text (autoescaped by the template like any string)."""
    return json.dumps(value, ensure_ascii=False, default=str)
