"""dashboard/strict.py: the one set of helpers that reads JSON, numbers and dates people send."""

from __future__ import annotations

import datetime as dt

import pytest
from django import forms

from dashboard.strict import (
    DateField,
    DateTimeField,
    OutOfRange,
    StrictInputError,
    check_datetime,
    check_json_value,
    parse_json,
    parse_number,
)


@pytest.mark.parametrize(
    "text",
    ["NaN", "-Infinity", "[1e999]", '{"n": -1e400}', "9223372036854775808", "1" * 5000],
    ids=["nan", "-infinity", "1e999", "-1e400", "2**63", "5000-digits"],
)
def test_json_numbers_no_parser_downstream_can_hold_are_out_of_range(text: str) -> None:
    with pytest.raises(OutOfRange):
        parse_json(text)


def test_json_within_range_reads_as_python_does() -> None:
    text = '{"a": [1, 2.5, -9223372036854775807, true, null, "x"]}'
    assert parse_json(text) == {"a": [1, 2.5, -9223372036854775807, True, None, "x"]}


@pytest.mark.parametrize(
    ("text", "says"),
    [("[" * 100_000 + "]" * 100_000, "levels deep"), ('"' + "y" * 2_000_000 + '"', "bytes")],
    ids=["deep", "2mb"],
)
def test_deep_or_large_json_is_refused_before_it_is_parsed(text: str, says: str) -> None:
    with pytest.raises(StrictInputError, match=says):
        parse_json(text)


def test_a_value_built_in_code_is_checked_the_same_way() -> None:
    with pytest.raises(OutOfRange):
        check_json_value({"n": 2**64})
    with pytest.raises(OutOfRange):
        check_json_value([float("inf")])
    check_json_value({"n": 2**63 - 1, "f": 1.5})


@pytest.mark.parametrize("text", ["42", " -1.5 ", "1e3"])
def test_a_number_is_read_from_text(text: str) -> None:
    assert parse_number(text) == float(text)


@pytest.mark.parametrize("text", ["", "ten", "true", "[1]", '"1"'])
def test_text_that_is_no_number_is_refused(text: str) -> None:
    with pytest.raises(StrictInputError, match="is not a number"):
        parse_number(text)


def test_a_number_out_of_range_says_so() -> None:
    with pytest.raises(OutOfRange):
        parse_number("1e999")


@pytest.mark.parametrize(
    "value",
    [
        dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=1))),
        dt.datetime(9999, 12, 31, 23, 59, tzinfo=dt.timezone(dt.timedelta(hours=-1))),
        dt.datetime(9999, 12, 31),
    ],
    ids=["before-year-1-in-utc", "after-9999-in-utc", "last-day-naive"],
)
def test_a_date_and_time_at_the_ends_of_the_calendar_is_out_of_range(value: dt.datetime) -> None:
    with pytest.raises(OutOfRange, match="Dates must lie between"):
        check_datetime(value)


@pytest.mark.parametrize(
    ("field", "text"),
    [
        (DateTimeField(), "0001-01-01T00:00:00+01:00"),
        (DateTimeField(), "9999-12-31T23:59:59-01:00"),
        (DateField(), "9999-12-31"),
        (DateField(), "0001-01-01"),
    ],
)
def test_form_fields_turn_it_into_a_form_error(field: forms.Field, text: str) -> None:
    with pytest.raises(forms.ValidationError, match="Dates must lie between"):
        field.clean(text)


def test_dates_in_range_pass() -> None:
    assert DateField().clean("2026-12-07") == dt.date(2026, 12, 7)
    aware = DateTimeField().clean("2026-12-07T03:00:00+01:00")
    assert aware == dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.UTC)
