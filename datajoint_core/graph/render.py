"""Drawing a pipeline as Mermaid, Graphviz DOT or SVG, from plain data (a :class:`Picture` that
``Diagram.picture()`` makes). Presentation only: no graph logic, no database."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass

from ..errors import DataJointError


@dataclass(frozen=True)
class Node:
    """A table to draw: its full name, label, tier style and, when restricted, its row count."""

    name: str
    label: str
    tier: str  # a key of STYLES
    count: int | None = None


@dataclass(frozen=True)
class Edge:
    parent: str
    child: str
    primary: bool  # the foreign key lies in the child's primary key: a solid line


@dataclass(frozen=True)
class Picture:
    """Nodes in topological order, the edges between them, and the drawing direction."""

    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    direction: str = "LR"


# tier -> (fill colour with alpha, Graphviz shape, Mermaid shape brackets), after DataJoint's
# diagrams: Manual green boxes, Lookup grey, Imported blue and Computed red ovals, Parts small.
STYLES = {
    "Manual": ("#00FF0030", "box", ('["', '"]')),
    "Lookup": ("#00000020", "plaintext", ('["', '"]')),
    "Imported": ("#00007F40", "ellipse", ('(["', '"])')),
    "Computed": ("#FF000030", "ellipse", ('(["', '"])')),
    "Part": ("#FFFFFF00", "plaintext", ('["', '"]')),
}


def _opaque(colour: str) -> str:
    """``#RRGGBBAA`` blended over white as ``#RRGGBB`` (Mermaid fills take no alpha)."""
    alpha = int(colour[7:9] or "ff", 16) / 255
    channels = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{round(c * alpha + 255 * (1 - alpha)):02X}" for c in channels)


def mermaid(picture: Picture) -> str:
    """Mermaid flowchart text; restricted tables show their row counts."""
    ids = {node.name: f"t{i}" for i, node in enumerate(picture.nodes)}
    lines = [f"flowchart {picture.direction}"]
    for node in picture.nodes:
        label = node.label if node.count is None else f"{node.label} ({node.count})"
        opening, closing = STYLES[node.tier][2]
        label = label.replace('"', "'")
        lines.append(f"    {ids[node.name]}{opening}{label}{closing}:::{node.tier.lower()}")
    for edge in picture.edges:
        arrow = "-->" if edge.primary else "-.->"
        lines.append(f"    {ids[edge.parent]} {arrow} {ids[edge.child]}")
    for tier, (colour, _, _) in STYLES.items():
        size = ",font-size:11px" if tier == "Part" else ""
        lines.append(f"    classDef {tier.lower()} fill:{_opaque(colour)},stroke:#333{size}")
    restricted = [ids[n.name] for n in picture.nodes if n.count is not None]
    if restricted:
        lines.append("    classDef restricted stroke:#d00,stroke-width:3px")
        lines.append(f"    class {','.join(restricted)} restricted")
    return "\n".join(lines) + "\n"


def dot(picture: Picture) -> str:
    """Graphviz DOT text; restricted tables drawn bold red with their row counts."""
    lines = [
        "digraph pipeline {",
        f"  rankdir={picture.direction};",
        '  node [fontname="Helvetica"];',
    ]
    for node in picture.nodes:
        colour, shape, _ = STYLES[node.tier]
        label = node.label
        extra = ""
        if node.count is not None:
            label += f"\\n{node.count} row{'' if node.count == 1 else 's'}"
            extra = ', color="#dd0000", penwidth=3'
        label = label.replace('"', '\\"')
        if node.tier == "Part":
            extra += ", fontsize=10"
        lines.append(
            f'  "{_esc(node.name)}" [label="{label}", shape={shape}, style=filled, '
            f'fillcolor="{colour}"{extra}];'
        )
    for edge in picture.edges:
        style = "solid" if edge.primary else "dashed"
        lines.append(f'  "{_esc(edge.parent)}" -> "{_esc(edge.child)}" [style={style}];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def _esc(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def svg(picture: Picture) -> str:
    """SVG drawn by the Graphviz ``dot`` program."""
    program = shutil.which("dot")
    if program is None:
        raise DataJointError("SVG needs the Graphviz 'dot' program (apt-get install graphviz)")
    result = subprocess.run(
        [program, "-Tsvg"], input=dot(picture).encode(), capture_output=True, check=False
    )
    if result.returncode != 0:
        raise DataJointError(f"dot failed: {result.stderr.decode(errors='replace')}")
    return result.stdout.decode()


def svg_or_none(picture: Picture) -> str | None:
    try:
        return svg(picture)
    except DataJointError:
        return None
