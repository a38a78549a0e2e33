"""The pure state diff: paths, kinds, and appended lists (messages in particular)."""

from __future__ import annotations

from typing import Any

from apps.threads.diff import diff_values, key_path


def _human(text: str, id: str) -> dict[str, Any]:
    return {"type": "human", "content": text, "id": id}


def _ai(text: str, id: str, **extra: object) -> dict[str, Any]:
    return {"type": "ai", "content": text, "id": id, **extra}


def test_it_reports_no_change_for_equal_states() -> None:
    state = {"a": 1, "b": [1, 2, {"c": None}]}
    diff = diff_values(state, {"a": 1, "b": [1, 2, {"c": None}]})
    assert not diff
    assert diff.paths() == {}


def test_it_reports_added_removed_and_changed_top_level_keys() -> None:
    diff = diff_values(
        {"keep": 1, "gone": "x", "draft": "v1"}, {"keep": 1, "draft": "v2", "new": True}
    )
    assert diff.paths() == {"gone": "removed", "draft": "changed", "new": "added"}
    changed = diff.changed[0]
    assert (changed.before, changed.after) == ("v1", "v2")
    assert diff.removed[0].before == "x"
    assert diff.added[0].after is True


def test_it_writes_nested_paths_with_dots_and_indexes() -> None:
    before = {"messages": [_human("hi", "1"), _ai("hello", "2")], "meta": {"inner": {"n": 1}}}
    after = {"messages": [_human("hi", "1"), _ai("hello there", "2")], "meta": {"inner": {"n": 2}}}
    assert diff_values(before, after).paths() == {
        "messages[1].content": "changed",
        "meta.inner.n": "changed",
    }


def test_it_quotes_keys_that_are_not_identifiers() -> None:
    diff = diff_values({}, {"odd key": 1, 'q"uote': 2, "ok_key": 3})
    assert diff.paths() == {'["odd key"]': "added", '["q\\"uote"]': "added", "ok_key": "added"}
    assert key_path("a", "b c") == 'a["b c"]'


def test_it_reports_messages_appended_once_not_per_index() -> None:
    before = {"messages": [_human("refund please", "1")]}
    new = [
        _ai("on it", "2", tool_calls=[{"name": "issue_refund", "args": {}, "id": "c1"}]),
        {"type": "tool", "content": "done", "tool_call_id": "c1", "id": "3"},
    ]
    diff = diff_values(before, {"messages": before["messages"] + new})
    assert diff.paths() == {"messages": "appended"}
    [appended] = diff.appended
    assert appended.is_messages
    assert appended.start == 1
    assert appended.items == new
    assert diff.messages_appended == 2
    assert not diff.changes


def test_it_reports_other_lists_that_grew_as_appended_but_not_as_messages() -> None:
    diff = diff_values({"steps": ["prepare"]}, {"steps": ["prepare", "process"]})
    [appended] = diff.appended
    assert appended.path == "steps"
    assert not appended.is_messages
    assert diff.messages_appended == 0


def test_it_compares_lists_index_by_index_when_the_old_one_is_not_a_prefix() -> None:
    diff = diff_values({"log": ["a", "b", "c"]}, {"log": ["a", "x"]})
    assert diff.paths() == {"log[1]": "changed", "log[2]": "removed"}


def test_it_treats_a_list_that_appeared_as_added() -> None:
    diff = diff_values({}, {"messages": [_human("hi", "1")]})
    assert diff.paths() == {"messages": "added"}


def test_it_reports_a_type_change_as_changed() -> None:
    diff = diff_values({"a": {"b": 1}, "n": 1, "t": 1}, {"a": [1], "n": 1.0, "t": True})
    # 1 -> 1.0 is the same number; 1 -> true is not the same value to an operator.
    assert diff.paths() == {"a": "changed", "t": "changed"}


def test_it_diffs_from_an_empty_first_state() -> None:
    diff = diff_values(None, {"a": 1})
    assert diff.paths() == {"(state)": "changed"}
    assert diff_values({}, {"a": 1}).paths() == {"a": "added"}


def test_it_stops_at_max_changes_on_huge_states() -> None:
    before = {f"k{i}": i for i in range(100)}
    after = {f"k{i}": i + 1 for i in range(100)}
    assert len(diff_values(before, after, max_changes=10).changes) == 10
