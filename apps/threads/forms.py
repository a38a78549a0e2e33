"""The list filter and the "open a thread by id" box. Filters live in the URL (GET), so a filtered
view can be shared; a bad filter re-renders with its error and keeps everything typed."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from django import forms
from django.forms.widgets import Widget
from django.utils.datastructures import MultiValueDict

from apps.deployments.models import Deployment
from apps.threads.models import ThreadStatus
from apps.threads.selectors import SORTS, ThreadFilter
from dashboard.keyset import BadCursor, decode_cursor
from dashboard.strict import DateTimeField, StrictInputError, parse_json

MAX_METADATA_FILTERS = 5
MAX_COLUMNS = 6


class ListInput(Widget):
    """Several values under one name (``?meta=a=1&meta=b=2``); the template draws the inputs."""

    def value_from_datadict(
        self, data: Mapping[str, Any], files: MultiValueDict[str, Any], name: str
    ) -> list[str]:
        getlist = getattr(data, "getlist", None)
        if getlist is not None:
            return [str(v) for v in getlist(name)]
        value = data.get(name)
        return (
            [str(v) for v in value] if isinstance(value, list) else ([str(value)] if value else [])
        )


class MetadataFilterField(forms.Field):
    widget = ListInput

    def to_python(self, value: Any) -> list[tuple[str, list[Any]]]:
        out: list[tuple[str, list[Any]]] = []
        for raw in value or []:
            text = str(raw).strip()
            if not text:
                continue
            key, sep, literal = text.partition("=")
            key, literal = key.strip(), literal.strip()
            if not sep or not key:
                raise forms.ValidationError(
                    f"“{text}”: write metadata filters as key=value, e.g. owner=alice."
                )
            if len(key) > 200 or len(literal) > 500:
                raise forms.ValidationError(f"“{text[:60]}…” is too long for a filter.")
            try:
                out.append((key, metadata_candidates(literal)))
            except StrictInputError as error:
                raise forms.ValidationError(f"“{text[:60]}”: {error}") from None
        if len(out) > MAX_METADATA_FILTERS:
            raise forms.ValidationError(f"At most {MAX_METADATA_FILTERS} metadata filters.")
        return out


def metadata_candidates(literal: str) -> list[Any]:
    """What ``key=literal`` matches: the string as typed, and the JSON scalar it spells
    (``n=1`` finds 1 and "1"; ``ok=true`` finds true and "true"; ``k="1"`` only the string).
    A number no JSON holds (``NaN``, ``1e999``) is a :class:`StrictInputError`, not a string."""
    try:
        parsed = parse_json(literal)
    except StrictInputError:
        if _spells_a_number(literal):
            raise
        return [literal]
    if isinstance(parsed, str):
        return [parsed]
    if isinstance(parsed, dict | list):
        return [literal]
    return [literal, parsed]


# What JSON (or Python's lenient reading of it) takes for a number.
_NUMBER = re.compile(r"-?(\d+(\.\d+)?([eE][-+]?\d+)?|NaN|Infinity)")


def _spells_a_number(literal: str) -> bool:
    return _NUMBER.fullmatch(literal) is not None


class ThreadFilterForm(forms.Form):
    deployment = forms.TypedMultipleChoiceField(
        coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )
    graph = forms.CharField(required=False, max_length=200)
    status = forms.ChoiceField(required=False, choices=[("", "any status"), *ThreadStatus.choices])
    meta = MetadataFilterField(required=False)
    updated_after = DateTimeField(required=False)
    updated_before = DateTimeField(required=False)
    q = forms.CharField(required=False, max_length=200, strip=True)
    sort = forms.ChoiceField(
        required=False,
        choices=[
            ("-updated", "newest update first"),
            ("updated", "oldest update first"),
            ("-created", "newest first"),
            ("created", "oldest first"),
        ],
    )
    cols = forms.CharField(required=False, max_length=300)
    after = forms.CharField(required=False, max_length=200)
    before = forms.CharField(required=False, max_length=200)

    def __init__(self, data: Any, *, deployments: Sequence[Deployment]) -> None:
        super().__init__(data)
        field = self.fields["deployment"]
        assert isinstance(field, forms.TypedMultipleChoiceField)
        field.choices = [(d.pk, d.name) for d in deployments]

    def clean_cols(self) -> list[str]:
        raw = self.cleaned_data.get("cols") or ""
        keys = [k.strip() for k in raw.split(",") if k.strip()]
        if len(keys) > MAX_COLUMNS:
            raise forms.ValidationError(f"At most {MAX_COLUMNS} metadata columns.")
        return list(dict.fromkeys(keys))

    def _cursor(self, name: str) -> str:
        value = str(self.cleaned_data.get(name) or "")
        if value:
            try:
                decode_cursor(value)
            except BadCursor:
                raise forms.ValidationError(
                    "This page link is broken; the list starts again from the first page."
                ) from None
        return value

    def clean_after(self) -> str:
        return self._cursor("after")

    def clean_before(self) -> str:
        return self._cursor("before")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        after, before = data.get("updated_after"), data.get("updated_before")
        if after and before and after >= before:
            self.add_error("updated_before", "“Updated before” must be later than “updated after”.")
        return data

    def to_filter(self) -> ThreadFilter:
        data = self.cleaned_data
        sort = data.get("sort") or "-updated"
        return ThreadFilter(
            deployment_ids=list(data.get("deployment") or []),
            graph=data.get("graph") or "",
            status=data.get("status") or "",
            metadata=list(data.get("meta") or []),
            updated_after=data.get("updated_after"),
            updated_before=data.get("updated_before"),
            text=data.get("q") or "",
            sort=sort if sort in SORTS else "-updated",
        )


class OpenThreadForm(forms.Form):
    id = forms.CharField(max_length=100, strip=True, label="Thread id")

    def clean_id(self) -> str:
        raw = str(self.cleaned_data["id"]).strip().strip("\"'")
        try:
            return str(uuid.UUID(raw))
        except ValueError:
            raise forms.ValidationError(
                f"“{raw[:80]}” is not a thread id: thread ids are UUIDs like "
                "1ef4c2a0-7b1d-6f3e-9a4b-2c8d0e5f6a7b."
            ) from None
