"""Edited arguments keep their JSON types: from args_schema when given, else from the original."""

from __future__ import annotations

import pytest

from apps.inbox.edits import EditError, arg_fields, diff_args, parse_args


def test_it_keeps_the_types_of_the_original_values():
    fields = arg_fields({"amount": 42.5, "count": 3, "urgent": False, "to": "a@b.c", "tags": ["x"]})
    assert [f.type for f in fields] == ["number", "integer", "boolean", "string", "json"]
    edited = parse_args(
        fields,
        {"amount": "40", "count": "4", "urgent": "true", "to": "d@e.f", "tags": '["x", "y"]'},
    )
    assert edited == {"amount": 40, "count": 4, "urgent": True, "to": "d@e.f", "tags": ["x", "y"]}
    assert isinstance(edited["count"], int)
    assert edited["urgent"] is True


def test_the_args_schema_wins_over_the_original_value():
    fields = arg_fields(
        {"amount": "12"}, {"properties": {"amount": {"type": "number"}, "note": {"type": "string"}}}
    )
    assert [(f.key, f.type, f.present) for f in fields] == [
        ("amount", "number", True),
        ("note", "string", False),
    ]
    assert parse_args(fields, {"amount": "12.5", "note": ""}) == {"amount": 12.5}
    assert parse_args(fields, {"amount": "12.5", "note": "hi"}) == {"amount": 12.5, "note": "hi"}


def test_values_that_do_not_fit_are_refused_by_name():
    fields = arg_fields({"amount": 1.0, "count": 1, "meta": {}})
    with pytest.raises(EditError) as error:
        parse_args(fields, {"amount": "ten", "count": "1.5", "meta": "{"})
    message = str(error.value)
    assert "'amount' must be a number, not 'ten'." in message
    assert "'count' must be a whole number, not '1.5'." in message
    assert "'meta' must be JSON" in message


def test_keys_the_form_did_not_send_keep_their_value():
    fields = arg_fields({"a": 1, "b": "x"})
    assert parse_args(fields, {"a": "2"}) == {"a": 2, "b": "x"}


def test_the_diff_lists_changed_values_only_and_sees_type_changes():
    assert diff_args("t", {"a": 1, "b": "x", "c": 1}, {"a": 1.0, "b": "y", "c": True}) == [
        {"action": "t", "key": "b", "before": "x", "after": "y", "change": "changed"},
        {"action": "t", "key": "c", "before": 1, "after": True, "change": "changed"},
    ]
