"""How state, messages and checkpoints are presented: escaped, paired, bounded."""

from __future__ import annotations

from typing import Any

from apps.threads import presenters


def test_it_escapes_keys_and_values_in_the_json_tree() -> None:
    html = str(
        presenters.json_tree({"<b>key</b>": "<script>alert(1)</script>", "n": [1, True, None]})
    )
    assert "<script>" not in html
    assert "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;key&lt;/b&gt;" in html
    assert '<span class="j-bool">true</span>' in html
    assert '<span class="j-null">null</span>' in html


def test_it_bounds_deep_and_long_values() -> None:
    deep: object = "bottom"
    for _ in range(200):
        deep = {"d": deep}
    html = str(presenters.json_tree({"deep": deep, "long": "x" * 10000, "many": list(range(1000))}))
    assert "nested too deep" in html
    assert "6000 more characters" in html
    assert "700 more" in html


def test_it_pairs_tool_calls_with_their_results() -> None:
    messages: list[dict[str, Any]] = [
        {"type": "human", "content": "refund A-1", "id": "1"},
        {
            "type": "ai",
            "content": [{"type": "text", "text": "On it."}, {"type": "image", "url": "x"}],
            "id": "2",
            "tool_calls": [
                {"name": "issue_refund", "args": {"order": "A-1"}, "id": "call_1"},
                {"name": "send_email", "args": {}, "id": "call_2"},
            ],
        },
        {
            "type": "tool",
            "content": "refunded",
            "tool_call_id": "call_1",
            "id": "3",
            "status": "success",
        },
    ]
    views = presenters.conversation(messages)
    assert [v.role for v in views] == ["user", "assistant", "tool"]
    ai = views[1]
    assert ai.text == "On it."
    assert len(ai.blocks) == 1
    assert ai.tool_calls[0].result is views[2]
    assert views[2].shown_with_call
    assert ai.tool_calls[1].result is None


def test_it_finds_conversations_among_state_keys() -> None:
    values = {"messages": [{"type": "human", "content": "hi"}], "steps": ["a"], "empty": []}
    found = presenters.conversations_in(values)
    assert [key for key, _ in found] == ["messages"]


def _cp(
    cid: str,
    parent: str | None,
    step: int,
    source: str,
    tasks: list[dict[str, Any]] | None = None,
    next: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "checkpoint": {"checkpoint_id": cid},
        "parent_checkpoint": {"checkpoint_id": parent} if parent else None,
        "metadata": {"step": step, "source": source},
        "created_at": "2026-11-21T07:52:08.638829+00:00",
        "tasks": tasks or [],
        "next": next or [],
        "interrupts": [],
    }


def test_it_says_which_nodes_wrote_each_checkpoint_including_those_that_wrote_nothing() -> None:
    history = [
        _cp("c3", "c2", 2, "loop"),
        _cp(
            "c2",
            "c1",
            1,
            "loop",
            tasks=[{"name": "a", "result": {"x": 1}}, {"name": "b", "result": None}],
            next=["a", "b"],
        ),
        _cp(
            "c1",
            None,
            -1,
            "input",
            tasks=[{"name": "__start__", "result": {"q": 1}}],
            next=["__start__"],
        ),
    ]
    rows = presenters.timeline(history, head_id="c3")
    assert rows[0].is_head
    assert [(w.node, w.wrote, w.wrote_nothing) for w in rows[0].writes] == [
        ("a", {"x": 1}, False),
        ("b", None, True),
    ]
    assert rows[1].writes[0].node == "__start__"
    assert rows[2].writes == []
    assert rows[2].writers_known


def test_it_finds_parents_across_a_fork_and_admits_when_one_is_not_at_hand() -> None:
    # History is a tree flattened newest first: f1 forks from c1, so its parent is not the
    # next item in the list.
    history = [
        _cp("f1", "c1", 2, "fork"),
        _cp("c2", "c1", 2, "loop"),
        _cp("c1", "c0", 1, "loop", tasks=[{"name": "review", "result": {"ok": True}}]),
        _cp("x", "elsewhere", 0, "loop"),
    ]
    rows = presenters.timeline(history)
    # A fork checkpoint is a copy of its parent: nothing ran to write it.
    assert rows[0].writes == []
    assert rows[0].note.startswith("forked from its parent")
    assert rows[1].writes[0].node == "review"
    assert not rows[3].writers_known


def test_it_lists_pending_interrupts_of_a_thread() -> None:
    thread = {
        "interrupts": {"task-1": [{"id": "i1", "value": {"question": "<ok?>"}}], "task-2": []}
    }
    [one] = presenters.interrupts_of(thread)
    assert one["id"] == "i1"
    assert '"<ok?>"' in one["value"]  # plain text: the template escapes it


def test_it_sends_the_large_branches_of_a_large_state_as_escaped_links() -> None:
    state = {
        '<b>"key"&': list(range(2000)),
        "small": {"a": 1},
        "also_big": [{"n": i} for i in range(100)],
    }
    html = str(presenters.json_tree(state, branch_href=lambda key: f"/branch/?key={key}"))
    assert '<a href="/branch/?key=&lt;b&gt;&quot;key&quot;&amp;">Show this branch</a>' in html
    assert 'hx-get="/branch/?key=also_big"' in html
    assert "<b>" not in html
    assert '<span class="j-key">a</span>: <span class="j-num">1</span>' in html  # small: inline
    assert '<span class="j-num">1999</span>' not in html
    assert "2000 items" in html  # the summary still says what is in it


def test_it_sends_a_small_state_whole() -> None:
    html = str(
        presenters.json_tree({"many": list(range(100))}, branch_href=lambda key: f"/b/?key={key}")
    )
    assert "Show this branch" not in html
    assert '<span class="j-num">99</span>' in html


def test_a_branch_shows_its_children_escaped_and_bounded() -> None:
    html = str(presenters.json_branch(["<script>", *range(400)]))
    assert html.startswith('<div class="jtree"><ul>')
    assert "&lt;script&gt;" in html
    assert "<script>" not in html
    assert "… 101 more" in html


def test_it_encodes_only_what_a_preview_shows() -> None:
    calls = 0

    class Counted:
        def __str__(self) -> str:
            nonlocal calls
            calls += 1
            return "x"

    huge = [Counted() for _ in range(10000)]
    assert presenters.preview_json(huge, 20) == '["x", "x", "x", "x"…'
    assert calls < 10
    assert presenters.preview_json({"a": 1}, 80) == '{"a": 1}'
    text = presenters.pretty_json(list(range(10000)), limit=100)
    assert text.endswith("(cut at 100 characters; export the thread for all of it)")


def test_a_write_is_formatted_once_for_the_timeline() -> None:
    wrote = presenters.Write("review", {"outcome": "refunded"}, False, "", False)
    assert wrote.preview == '{"outcome": "refunded"}'
    assert '"outcome": "refunded"' in wrote.text
    nothing = presenters.Write("noop", None, True, "", False)
    assert nothing.preview == nothing.text == ""
