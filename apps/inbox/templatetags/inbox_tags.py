from __future__ import annotations

import json
from typing import Any

from django import template
from django.utils.safestring import SafeString

from apps.inbox.markup import render_markdown

register = template.Library()


@register.filter
def tojson(value: Any) -> str:
    """A JSON value as compact JSON text (autoescaped by the template like any string)."""
    return json.dumps(value, ensure_ascii=False, default=str)


@register.filter
def markdown(value: Any) -> SafeString:
    """An action's description (markdown from the graph) as HTML, raw HTML in it escaped."""
    return render_markdown(str(value or ""))


@register.filter
def cell_for(cells: dict[int, SafeString], pk: int) -> SafeString:
    """The cell an app contributed for item ``pk`` (see ``apps.inbox.hooks.row_controls``)."""
    return cells.get(pk, SafeString(""))
