"""Draw a graph (``GET /assistants/{id}/graph``) as a server-rendered SVG: no JS, no CDN.

A simple layered (Sugiyama-style) layout, top to bottom:

1. break cycles: edges found as back edges by a DFS from ``__start__`` are drawn as loops on the
   side and left out of the layering;
2. layer each node at the length of the longest path reaching it (``__end__`` goes last);
3. order each layer by the mean position of its neighbours, a few sweeps down and up, which
   removes most crossings in graphs of the size agents have;
4. place boxes sized to their labels, centre every layer, and route edges as curves.

Everything here is pure; node names come from the deployment and are untrusted, so every text
that reaches the SVG goes through ``html.escape`` (see ``_text``), and the one ``mark_safe`` is at
the end of ``render_graph_svg``.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.safestring import SafeString, mark_safe

START = "__start__"
END = "__end__"

NODE_H = 30
LAYER_GAP = 46
NODE_GAP = 22
CHAR_W = 7.4
PAD_X = 14
MARGIN = 16


@dataclass
class Box:
    id: str
    label: str
    layer: int = 0
    order: float = 0.0
    x: float = 0.0  # left
    y: float = 0.0  # top
    w: float = 0.0

    @property
    def cx(self) -> float:
        return self.x + self.w / 2


@dataclass
class Edge:
    source: str
    target: str
    conditional: bool = False
    label: str = ""
    back: bool = False


@dataclass
class Layout:
    boxes: dict[str, Box]
    edges: list[Edge]
    width: float
    height: float
    layers: list[list[str]] = field(default_factory=list)


def _label(node: Mapping[str, Any]) -> str:
    node_id = str(node.get("id", ""))
    data = node.get("data")
    if isinstance(data, Mapping) and isinstance(data.get("name"), str) and data["name"]:
        name = str(data["name"])
        # The server names start/end "__start__"/"__end__" and runnables by their node id; a
        # data name that differs (a RunnableCallable's repr) is noise next to the id.
        return node_id if node_id in (START, END) else (node_id or name)
    return node_id


def layout_graph(drawing: Mapping[str, Any]) -> Layout:
    raw_nodes = drawing.get("nodes") or []
    raw_edges = drawing.get("edges") or []
    boxes: dict[str, Box] = {}
    for node in raw_nodes:
        if isinstance(node, Mapping) and node.get("id") is not None:
            box = Box(id=str(node["id"]), label=_label(node))
            boxes[box.id] = box
    edges: list[Edge] = []
    for raw in raw_edges:
        if not isinstance(raw, Mapping):
            continue
        source, target = str(raw.get("source", "")), str(raw.get("target", ""))
        if not source or not target:
            continue
        for name in (source, target):
            boxes.setdefault(name, Box(id=name, label=name))
        data = raw.get("data")
        label = str(data) if isinstance(data, str) else ""
        edges.append(Edge(source, target, bool(raw.get("conditional")), label))

    _mark_back_edges(boxes, edges)
    _assign_layers(boxes, edges)
    layers = _order_layers(boxes, edges)
    width, height = _place(
        boxes, layers, room_right=any(e.back or e.source == e.target for e in edges)
    )
    return Layout(boxes, edges, width, height, layers)


def _mark_back_edges(boxes: Mapping[str, Box], edges: list[Edge]) -> None:
    out: dict[str, list[Edge]] = {name: [] for name in boxes}
    for edge in edges:
        out[edge.source].append(edge)
    state: dict[str, int] = {}  # 1 = on the DFS stack, 2 = done
    roots = [START] if START in boxes else []
    roots += [name for name in boxes if name != START]
    for root in roots:
        if root in state:
            continue
        # Iterative DFS: graphs from a deployment may be deep, and recursion limits are not a
        # failure mode a page should have.
        stack: list[tuple[str, int]] = [(root, 0)]
        state[root] = 1
        while stack:
            name, i = stack[-1]
            if i < len(out[name]):
                stack[-1] = (name, i + 1)
                edge = out[name][i]
                seen = state.get(edge.target)
                if seen == 1 or edge.target == START or edge.source == END:
                    edge.back = True
                elif seen is None:
                    state[edge.target] = 1
                    stack.append((edge.target, 0))
            else:
                state[name] = 2
                stack.pop()


def _assign_layers(boxes: dict[str, Box], edges: Sequence[Edge]) -> None:
    forward = [e for e in edges if not e.back and e.source != e.target]
    incoming: dict[str, list[str]] = {name: [] for name in boxes}
    outgoing: dict[str, list[str]] = {name: [] for name in boxes}
    for e in forward:
        incoming[e.target].append(e.source)
        outgoing[e.source].append(e.target)
    # Kahn's algorithm gives a topological order of the (now acyclic) forward graph.
    pending = {name: len(incoming[name]) for name in boxes}
    ready = [name for name in boxes if pending[name] == 0]
    order: list[str] = []
    while ready:
        name = ready.pop(0)
        order.append(name)
        for target in outgoing[name]:
            pending[target] -= 1
            if pending[target] == 0:
                ready.append(target)
    order += [name for name in boxes if name not in order]  # defensive: leftovers of odd input
    for name in order:
        box = boxes[name]
        box.layer = max((boxes[src].layer + 1 for src in incoming[name]), default=0)
    if END in boxes:
        boxes[END].layer = max(
            [b.layer for b in boxes.values() if b.id != END]
            + [b.layer + 1 for b in (boxes[s] for s in incoming[END])],
            default=0,
        )
        if any(b.layer >= boxes[END].layer for b in boxes.values() if b.id != END):
            boxes[END].layer = max(b.layer for b in boxes.values() if b.id != END) + 1


def _order_layers(boxes: Mapping[str, Box], edges: Sequence[Edge]) -> list[list[str]]:
    depth = max((b.layer for b in boxes.values()), default=-1) + 1
    layers: list[list[str]] = [[] for _ in range(depth)]
    for name, box in boxes.items():  # input order is the first guess
        layers[box.layer].append(name)
    neighbours_up: dict[str, list[str]] = {name: [] for name in boxes}
    neighbours_down: dict[str, list[str]] = {name: [] for name in boxes}
    for e in edges:
        if e.back or e.source == e.target:
            continue
        neighbours_up[e.target].append(e.source)
        neighbours_down[e.source].append(e.target)

    def renumber(layer: list[str]) -> None:
        for i, name in enumerate(layer):
            boxes[name].order = float(i)

    for layer in layers:
        renumber(layer)
    for _ in range(4):
        for sweep, neighbours in (
            (range(1, depth), neighbours_up),
            (range(depth - 2, -1, -1), neighbours_down),
        ):
            for index in sweep:
                layer = layers[index]

                def key(name: str, nb: dict[str, list[str]] = neighbours) -> float:
                    near = nb[name]
                    if not near:
                        return boxes[name].order
                    return sum(boxes[n].order for n in near) / len(near)

                layer.sort(key=key)
                renumber(layer)
    return layers


def _place(
    boxes: Mapping[str, Box], layers: Sequence[Sequence[str]], *, room_right: bool
) -> tuple[float, float]:
    widths: list[float] = []
    for layer in layers:
        for name in layer:
            box = boxes[name]
            box.w = max(56.0, len(box.label[:40]) * CHAR_W + 2 * PAD_X)
        widths.append(sum(boxes[n].w for n in layer) + NODE_GAP * max(0, len(layer) - 1))
    inner = max(widths, default=0.0)
    # Loops are routed up the right-hand side: leave them a lane.
    width = inner + 2 * MARGIN + (40 if room_right else 0)
    for index, layer in enumerate(layers):
        x = MARGIN + (inner - widths[index]) / 2
        for name in layer:
            box = boxes[name]
            box.x, box.y = x, MARGIN + index * (NODE_H + LAYER_GAP)
            x += box.w + NODE_GAP
    height = 2 * MARGIN + len(layers) * NODE_H + max(0, len(layers) - 1) * LAYER_GAP
    return width, float(height)


def _text(value: str) -> str:
    return html.escape(value, quote=True)


def _edge_path(edge: Edge, boxes: Mapping[str, Box], right: float) -> str:
    src, dst = boxes[edge.source], boxes[edge.target]
    if edge.source == edge.target:
        x, y = src.x + src.w, src.y + NODE_H / 2
        return f"M{x:.1f},{y - 6:.1f} C{x + 30:.1f},{y - 20:.1f} {x + 30:.1f},{y + 20:.1f} {x:.1f},{y + 6:.1f}"
    if edge.back or dst.layer <= src.layer:
        # Up the right-hand side, so loops never cross the forward flow.
        x1, y1 = src.x + src.w, src.y + NODE_H / 2
        x2, y2 = dst.x + dst.w, dst.y + NODE_H / 2
        lane = right - 12
        return f"M{x1:.1f},{y1:.1f} C{lane:.1f},{y1:.1f} {lane:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"
    x1, y1 = src.cx, src.y + NODE_H
    x2, y2 = dst.cx, dst.y
    mid = (y1 + y2) / 2
    return f"M{x1:.1f},{y1:.1f} C{x1:.1f},{mid:.1f} {x2:.1f},{mid:.1f} {x2:.1f},{y2:.1f}"


def render_graph_svg(
    drawing: Mapping[str, Any],
    *,
    current: Iterable[str] = (),
    interrupted: Iterable[str] = (),
    finished: bool = False,
    title: str = "Graph",
) -> SafeString:
    """The graph as an inline ``<svg>``, with ``current`` nodes (the thread's ``next``) and
    ``interrupted`` nodes highlighted, or ``__end__`` when the thread ``finished``."""
    layout = layout_graph(drawing)
    here = set(current)
    waiting = set(interrupted)
    if finished and not here and END in layout.boxes:
        here.add(END)
    parts = [
        f'<svg class="graph" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'viewBox="0 0 {layout.width:.0f} {layout.height:.0f}" width="{layout.width:.0f}" '
        f'height="{layout.height:.0f}" aria-label="{_text(title)}">',
        f"<title>{_text(title)}</title>",
        '<defs><marker id="graph-arrow" viewBox="0 0 10 10" refX="9" refY="5" '
        'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path d="M0,0 L10,5 L0,10 z" class="graph-arrowhead"/></marker></defs>',
    ]
    for edge in layout.edges:
        classes = ["graph-edge"]
        if edge.conditional:
            classes.append("conditional")
        if edge.back:
            classes.append("back")
        parts.append(
            f'<path class="{" ".join(classes)}" d="{_edge_path(edge, layout.boxes, layout.width)}" '
            f'marker-end="url(#graph-arrow)"><title>{_text(edge.source)} → {_text(edge.target)}'
            f"{' (conditional)' if edge.conditional else ''}</title></path>"
        )
    for box in layout.boxes.values():
        classes = ["graph-node"]
        if box.id in (START, END):
            classes.append("terminal")
        if box.id in here:
            classes.append("current")
        if box.id in waiting:
            classes.append("interrupted")
        label = box.label if len(box.label) <= 40 else box.label[:39] + "…"
        rx = NODE_H / 2 if box.id in (START, END) else 6
        parts.append(
            f'<g class="{" ".join(classes)}" data-node="{_text(box.id)}">'
            f"<title>{_text(box.id)}</title>"
            f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.w:.1f}" height="{NODE_H}" rx="{rx:.0f}"/>'
            f'<text x="{box.cx:.1f}" y="{box.y + NODE_H / 2 + 4:.1f}" text-anchor="middle">'
            f"{_text(label)}</text></g>"
        )
    parts.append("</svg>")
    # Safe: every piece of deployment text above went through _text (html.escape).
    return mark_safe("".join(parts))
