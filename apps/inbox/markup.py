"""Markdown written by a graph (an action's description), rendered for the console.

Graph output is untrusted: raw HTML in it is escaped, not passed through (``html`` off), and
markdown-it's link check drops ``javascript:`` and ``data:`` targets. Links open nothing on
their own: no ``linkify``, so only explicit ``[text](url)`` links become anchors.
"""

from __future__ import annotations

from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

MAX_MARKDOWN = 8000

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})


def render_markdown(text: str) -> SafeString:
    # Safe to mark: with html off, markdown-it escapes every character of the source it emits.
    html: str = _md.render(text[:MAX_MARKDOWN])
    return mark_safe(html)
