"""Small filters for the thread pages. Everything they return is plain text: the templates'
autoescaping does the escaping (deployment data is untrusted)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import template

from apps.threads.presenters import pretty_json, short_json
from apps.threads.selectors import COUNT_CAP

register = template.Library()


@register.filter
def brief(value: Any, limit: int = 120) -> str:
    """A one-line JSON rendering of any value, cut at ``limit`` characters."""
    return short_json(value, int(limit))


@register.filter
def pretty(value: Any) -> str:
    return pretty_json(value)


@register.filter
def short_id(value: Any) -> str:
    # Thread and checkpoint ids are time-ordered UUIDs: their heads are alike, their random
    # tails tell them apart.
    text = str(value or "")
    return "…" + text[-8:] if len(text) > 12 else text


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    if isinstance(mapping, Mapping):
        return mapping.get(key)
    return None


@register.filter
def count_label(value: Any) -> str:
    """A status count from ``selectors.status_counts``: past the cap it reads "10,000+"."""
    n = int(value or 0)
    return f"{COUNT_CAP:,}+" if n > COUNT_CAP else f"{n:,}"
