"""Drawing a DAG (a product's lineage: its sources, models and outputs) as inline SVG."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Protocol

SOURCE_LAYER = "source"


class DagNode(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def layer(self) -> str: ...  # "source", or a model's layer: it picks the box's colour

    @property
    def detail(self) -> str: ...  # a source's box shows it (its pinned version)


LAYER_COLOURS = {
    SOURCE_LAYER: "#e8f0fe",
    "staging": "#e6f4ea",
    "intermediate": "#fef7e0",
    "product": "#fce8e6",
}
BOX_WIDTH, BOX_HEIGHT, COLUMN_GAP, ROW_GAP = 170, 44, 70, 18


def dag_svg(label: str, nodes: Sequence[DagNode], edges: Sequence[tuple[str, str]]) -> str:
    """A DAG (nodes in dependency order, edges as (upstream, downstream) names) as an SVG
    drawing: a column per depth, sources on the left; `label` names it for screen readers."""

    def reads(name: str) -> list[str]:
        return [a for a, b in edges if b == name]

    depth: dict[str, int] = {}
    for node in nodes:  # nodes come in dependency order
        above = [depth[name] + 1 for name in reads(node.name) if name in depth]
        depth[node.name] = max(above, default=0)
    columns: dict[int, list[DagNode]] = {}
    for node in nodes:
        columns.setdefault(depth[node.name], []).append(node)
    rank: dict[str, float] = {}
    for level in sorted(columns):  # each node near the middle of what it reads: fewer crossings
        nodes = columns[level]
        for index, node in enumerate(nodes):
            ranks = [rank[name] for name in reads(node.name) if name in rank]
            rank[node.name] = sum(ranks) / len(ranks) if ranks else index
        nodes.sort(key=lambda n: rank[n.name])
        for index, node in enumerate(nodes):
            rank[node.name] = index
    tallest = max(len(nodes) for nodes in columns.values())
    width = len(columns) * (BOX_WIDTH + COLUMN_GAP) - COLUMN_GAP + 20
    height = tallest * (BOX_HEIGHT + ROW_GAP) - ROW_GAP + 20
    where: dict[str, tuple[int, int]] = {}
    boxes = []
    for level, nodes in sorted(columns.items()):
        offset = (height - 20 - len(nodes) * (BOX_HEIGHT + ROW_GAP) + ROW_GAP) // 2
        for row, node in enumerate(nodes):
            x = 10 + level * (BOX_WIDTH + COLUMN_GAP)
            y = 10 + offset + row * (BOX_HEIGHT + ROW_GAP)
            where[node.name] = (x, y)
            colour = LAYER_COLOURS.get(node.layer, "#f1f3f4")
            label = node.detail if node.layer == SOURCE_LAYER else node.layer
            boxes.append(
                f'<g class="node" data-name="{html.escape(node.name)}">'
                f'<rect x="{x}" y="{y}" width="{BOX_WIDTH}" height="{BOX_HEIGHT}" rx="6" '
                f'fill="{colour}" stroke="#5f6368"/>'
                f'<text x="{x + 8}" y="{y + 18}" font-weight="bold">{html.escape(node.name)}</text>'
                f'<text x="{x + 8}" y="{y + 35}" font-size="11" fill="#5f6368">'
                f"{html.escape(label)}</text></g>"
            )
    lines = []
    for upstream, downstream in edges:
        (x1, y1), (x2, y2) = where[upstream], where[downstream]
        x1, y1, y2 = x1 + BOX_WIDTH, y1 + BOX_HEIGHT // 2, y2 + BOX_HEIGHT // 2
        middle = (x1 + x2) // 2
        lines.append(
            f'<path d="M{x1},{y1} C{middle},{y1} {middle},{y2} {x2},{y2}" fill="none" '
            f'stroke="#9aa0a6" stroke-width="1.5" marker-end="url(#arrow)"/>'
        )
    return (
        f'<svg class="lineage" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" '
        f'font-size="13" role="img" aria-label="{html.escape(label)}">'
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#9aa0a6"/></marker>'
        "</defs>" + "".join(lines) + "".join(boxes) + "</svg>"
    )
