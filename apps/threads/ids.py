"""Thread and checkpoint ids from URLs and query strings: only UUIDs are ever sent upstream."""

from __future__ import annotations

import uuid

from django.http import Http404


def thread_id_or_404(thread_id: str) -> str:
    try:
        return str(uuid.UUID(thread_id))
    except ValueError:
        raise Http404("Thread ids are UUIDs.") from None


def checkpoint_id_or_blank(value: str) -> str:
    """A checkpoint id from the query string, or "" when it is not one."""
    try:
        return str(uuid.UUID(value)) if value else ""
    except ValueError:
        return ""
