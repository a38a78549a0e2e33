"""The server-side graph drawing: a layered layout and an SVG with every label escaped."""

from __future__ import annotations

from typing import Any

from apps.threads.graphdraw import END, START, layout_graph, render_graph_svg


def _drawing(
    edges: list[tuple[str, str, bool]], extra_nodes: tuple[str, ...] = ()
) -> dict[str, Any]:
    names = {START, END, *extra_nodes}
    for s, t, _ in edges:
        names |= {s, t}
    return {
        "nodes": [{"id": n, "type": "runnable", "data": {"name": n}} for n in sorted(names)],
        "edges": [
            {"source": s, "target": t, **({"conditional": True} if c else {})} for s, t, c in edges
        ],
    }


AGENT = _drawing(
    [
        (START, "model", False),
        ("model", "hitl", False),
        ("hitl", END, True),
        ("hitl", "model", True),
        ("hitl", "tools", True),
        ("tools", "model", True),
    ]
)


def test_it_layers_nodes_by_longest_path_from_start() -> None:
    layout = layout_graph(
        _drawing(
            [
                (START, "a", False),
                ("a", "b", False),
                ("b", "c", False),
                (START, "c", False),
                ("c", END, False),
            ]
        )
    )
    layers = {name: box.layer for name, box in layout.boxes.items()}
    assert layers == {START: 0, "a": 1, "b": 2, "c": 3, END: 4}


def test_it_draws_cycles_as_back_edges_and_keeps_end_last() -> None:
    layout = layout_graph(AGENT)
    back = {(e.source, e.target) for e in layout.edges if e.back}
    assert back == {("hitl", "model"), ("tools", "model")}
    layers = {name: box.layer for name, box in layout.boxes.items()}
    assert layers[START] < layers["model"] < layers["hitl"] < layers["tools"]
    assert layers[END] == max(layers.values())


def test_it_puts_parallel_branches_side_by_side() -> None:
    layout = layout_graph(
        _drawing(
            [
                (START, "legal", False),
                (START, "finance", False),
                ("legal", "join", False),
                ("finance", "join", False),
                ("join", END, False),
            ]
        )
    )
    legal, finance = layout.boxes["legal"], layout.boxes["finance"]
    assert legal.layer == finance.layer
    assert legal.y == finance.y
    assert legal.x + legal.w <= finance.x or finance.x + finance.w <= legal.x


def test_it_highlights_where_the_thread_stands() -> None:
    svg = str(render_graph_svg(AGENT, current=["hitl"], interrupted=["hitl"]))
    assert '<g class="graph-node current interrupted" data-node="hitl">' in svg
    assert svg.count(" current") == 1


def test_it_highlights_the_end_of_a_finished_thread() -> None:
    svg = str(render_graph_svg(AGENT, finished=True))
    assert f'<g class="graph-node terminal current" data-node="{END}">' in svg


def test_it_escapes_node_names_from_the_deployment() -> None:
    evil = '<script>alert("x")</script>'
    svg = str(render_graph_svg(_drawing([(START, evil, False), (evil, END, False)]), title=evil))
    assert "<script>" not in svg
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in svg


def test_it_survives_odd_input() -> None:
    assert "<svg" in render_graph_svg({})
    assert "<svg" in render_graph_svg(
        {
            "nodes": [None, {"x": 1}],
            "edges": [{"source": "a"}, "junk", {"source": "a", "target": "a"}],
        }
    )
    # A cycle with no start, and an edge to an undeclared node.
    svg = str(
        render_graph_svg(
            {
                "nodes": [{"id": "a"}],
                "edges": [{"source": "a", "target": "b"}, {"source": "b", "target": "a"}],
            }
        )
    )
    assert 'data-node="b"' in svg


def test_it_draws_conditional_edges_dashed() -> None:
    svg = str(render_graph_svg(AGENT))
    assert svg.count('class="graph-edge conditional') == 4
