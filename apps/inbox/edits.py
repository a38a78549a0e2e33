"""Editing an action's arguments without losing their JSON types, and the diff of an edit. Pure.

A form sends text. Each argument's JSON type comes from the action's ``args_schema`` when it has
one (``properties.<key>.type``), else from the original value: ``42.5`` stays a number, ``true`` a
boolean, a list or an object is edited as JSON (strictly: ``dashboard.strict``). A value that does
not fit its type is refused with a sentence naming the argument, never silently sent as a string.

Browsers send every line break of a ``<textarea>`` as CRLF. A field whose text comes back as it
was shown (line breaks aside) is untouched and keeps its original value exactly; edited text gets
the line breaks the original had (LF unless the original used CRLF).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from dashboard.strict import OutOfRange, StrictInputError, parse_json, parse_number

FieldType: TypeAlias = Literal["string", "number", "integer", "boolean", "json"]

_SCHEMA_TYPES: dict[str, FieldType] = {
    "string": "string",
    "number": "number",
    "integer": "integer",
    "boolean": "boolean",
    "object": "json",
    "array": "json",
    "null": "json",
}


class EditError(ValueError):
    """An edited value that does not fit its argument's type; the message says which and why."""


@dataclass(frozen=True)
class ArgField:
    key: str
    type: FieldType
    original: Any
    # The original as the form shows it.
    text: str
    required: bool = False
    description: str = ""
    # False for a key only the schema names (not in the original args).
    present: bool = True

    @property
    def multiline(self) -> bool:
        return self.type == "json" or (
            # A browser strips line breaks from an <input>: any text with one is a textarea.
            self.type == "string"
            and ("\n" in self.text or "\r" in self.text or len(self.text) > 80)
        )


def type_of(value: Any) -> FieldType:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "json"


def _schema_type(prop: Any) -> FieldType | None:
    if not isinstance(prop, Mapping):
        return None
    kind = prop.get("type")
    if isinstance(kind, list):  # ["number", "null"]: the first that is not null
        kind = next((k for k in kind if k != "null"), None)
    if isinstance(kind, str):
        return _SCHEMA_TYPES.get(kind)
    if prop.get("enum"):
        return type_of(prop["enum"][0])
    return None


def as_text(value: Any, kind: FieldType) -> str:
    if kind == "string":
        return value if isinstance(value, str) else ("" if value is None else json.dumps(value))
    if kind == "boolean":
        return "true" if value is True else "false" if value is False else ""
    if kind in ("number", "integer"):
        return "" if value is None else json.dumps(value)
    return json.dumps(value, indent=2, ensure_ascii=False)


def arg_fields(
    args: Mapping[str, Any], args_schema: Mapping[str, Any] | None = None
) -> list[ArgField]:
    """The form fields for editing ``args``: the original keys in order, then keys only the
    schema names."""
    props: Mapping[str, Any] = {}
    required: set[str] = set()
    if isinstance(args_schema, Mapping):
        raw_props = args_schema.get("properties")
        props = raw_props if isinstance(raw_props, Mapping) else {}
        raw_required = args_schema.get("required")
        required = {str(k) for k in raw_required} if isinstance(raw_required, list) else set()
    fields = []
    for key in [*args.keys(), *(k for k in props if k not in args)]:
        original = args.get(key)
        kind = _schema_type(props.get(key)) or type_of(original)
        prop = props.get(key)
        description = str(prop.get("description") or "") if isinstance(prop, Mapping) else ""
        fields.append(
            ArgField(
                key=str(key),
                type=kind,
                original=original,
                text=as_text(original, kind),
                required=key in required,
                description=description,
                present=key in args,
            )
        )
    return fields


def _lf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def with_newlines_of(text: str, original: Any) -> str:
    """``text`` from a form with the line breaks ``original`` used: CRLF only if it had CRLF."""
    text = _lf(text)
    if (
        isinstance(original, str)
        and "\r\n" in original
        and "\n" not in original.replace("\r\n", "")
    ):
        return text.replace("\n", "\r\n")
    return text


def untouched(field: ArgField, text: str) -> bool:
    """The form sent back what it showed for ``field`` (line breaks aside)."""
    return field.present and _lf(text) == _lf(field.text)


def parse_value(field: ArgField, text: str) -> Any:
    """The JSON value of one edited field, of the field's type."""
    name = repr(field.key)
    if field.type == "string":
        return with_newlines_of(text, field.original)
    stripped = text.strip()
    if field.type == "boolean":
        lowered = stripped.lower()
        if lowered in ("true", "on", "1", "yes"):
            return True
        if lowered in ("false", "off", "0", "no", ""):
            return False
        raise EditError(f"{name} must be true or false, not {text!r}.")
    if field.type in ("number", "integer"):
        if stripped == "" and field.original is None and not field.required:
            return None
        noun = "a whole number" if field.type == "integer" else "a number"
        try:
            number = parse_number(stripped)
        except OutOfRange as error:
            raise EditError(f"{name}: {error}") from None
        except StrictInputError:
            shown = text if len(text) <= 40 else text[:40] + "…"
            raise EditError(f"{name} must be {noun}, not {shown!r}.") from None
        if field.type == "integer":
            if isinstance(number, float) and not number.is_integer():
                raise EditError(f"{name} must be a whole number, not {text!r}.")
            return int(number)
        return number
    try:
        return parse_json(stripped) if stripped else None
    except StrictInputError as error:
        raise EditError(f"{name} must be JSON: {error}") from None


def parse_args(fields: list[ArgField], texts: Mapping[str, str]) -> dict[str, Any]:
    """The edited args: every field's value parsed from ``texts``. A key the form did not send
    keeps its original value; a schema-only key left empty stays out. Raises ``EditError``
    listing every argument that does not fit."""
    out: dict[str, Any] = {}
    problems: list[str] = []
    for field in fields:
        if (
            field.key not in texts
            or untouched(field, texts[field.key])
            or (not field.present and texts[field.key].strip() == "")
        ):
            if field.present:
                out[field.key] = field.original
            continue
        try:
            out[field.key] = parse_value(field, texts[field.key])
        except EditError as error:
            problems.append(str(error))
    if problems:
        raise EditError(" ".join(problems))
    return out


def diff_args(
    action: str, before: Mapping[str, Any], after: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """[{"action", "key", "before", "after", "change"}] for every argument that differs."""
    rows = []
    for key in [*before.keys(), *(k for k in after if k not in before)]:
        old, new = before.get(key, _ABSENT), after.get(key, _ABSENT)
        if old is _ABSENT:
            rows.append(
                {"action": action, "key": key, "before": None, "after": new, "change": "added"}
            )
        elif new is _ABSENT:
            rows.append(
                {"action": action, "key": key, "before": old, "after": None, "change": "removed"}
            )
        elif not _same(old, new):
            rows.append(
                {"action": action, "key": key, "before": old, "after": new, "change": "changed"}
            )
    return rows


def _same(a: Any, b: Any) -> bool:
    # 1 == 1.0 == True in Python; an edit from 1 to true is a change of JSON value.
    return (type_of(a) == type_of(b) and a == b) or (
        type_of(a) in ("integer", "number") and type_of(b) in ("integer", "number") and a == b
    )


class _Absent:
    def __repr__(self) -> str:
        return "<absent>"


_ABSENT: Any = _Absent()


def diff_values(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The keys of a state update that change what is stored (top level only: reducers decide
    the rest)."""
    return [
        {
            "key": key,
            "before": before.get(key),
            "after": value,
            "change": "changed" if key in before else "added",
        }
        for key, value in after.items()
        if key not in before or not _same(before[key], value)
    ]
