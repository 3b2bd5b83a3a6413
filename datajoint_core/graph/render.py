"""Rendering a Diagram as Mermaid, Graphviz DOT or SVG. Presentation only, no graph logic."""

from __future__ import annotations

import shutil
import subprocess
from typing import TYPE_CHECKING

from ..errors import DataJointError

if TYPE_CHECKING:
    from .diagram import Diagram

# tier -> (fill colour, shape), after DataJoint's diagrams
STYLES = {
    "Manual": ("#00FF0030", "box"),
    "Lookup": ("#00000020", "plaintext"),
    "Imported": ("#00007F40", "ellipse"),
    "Computed": ("#FF000030", "ellipse"),
    "Part": ("#FFFFFF00", "plaintext"),
}


def _tier(diagram: Diagram, node: str) -> str:
    from ..user_tables import tier_of

    data = diagram.graph.nodes[node]
    if data.get("master"):
        return "Part"
    return tier_of(data["table"])[0].__name__


def _label(diagram: Diagram, node: str) -> str:
    from ..user_tables import split_part, tier_of, to_camel

    data = diagram.graph.nodes[node]
    table = data["table"]
    split = split_part(table) if data.get("master") else None
    name = (
        f"{to_camel(tier_of(split[0])[1])}.{to_camel(split[1])}"
        if split
        else to_camel(tier_of(table)[1])
    )
    if len(diagram.schemas) > 1 or data["schema"] not in diagram.schemas:
        name = f"{data['schema']}.{name}"
    return name


def _visible(diagram: Diagram) -> tuple[list[str], dict[str, int] | None]:
    order = diagram.topological_order()
    counts = diagram._render_counts()
    return order, counts


def mermaid(diagram: Diagram) -> str:
    """Mermaid flowchart text; restricted tables show their row counts."""
    order, counts = _visible(diagram)
    ids = {node: f"t{i}" for i, node in enumerate(order)}
    direction = diagram.connection.config["display.diagram_direction"]
    lines = [f"flowchart {direction}"]
    for node in order:
        label = _label(diagram, node)
        if counts is not None and node in counts:
            label += f" ({counts[node]})"
        label = label.replace('"', "'")
        lines.append(f'    {ids[node]}["{label}"]:::{_tier(diagram, node).lower()}')
    for parent, child, data in diagram.graph.edges(data=True):
        if parent in ids and child in ids:
            arrow = "-->" if data.get("primary") else "-.->"
            lines.append(f"    {ids[parent]} {arrow} {ids[child]}")
    for tier, (colour, _) in STYLES.items():
        lines.append(f"    classDef {tier.lower()} fill:{colour[:7]},stroke:#333")
    if counts is not None:
        restricted = [ids[n] for n in order if n in counts]
        if restricted:
            lines.append("    classDef restricted stroke:#d00,stroke-width:3px")
            lines.append(f"    class {','.join(restricted)} restricted")
    return "\n".join(lines) + "\n"


def dot(diagram: Diagram) -> str:
    """Graphviz DOT text; restricted tables drawn bold red with their row counts."""
    order, counts = _visible(diagram)
    direction = diagram.connection.config["display.diagram_direction"]
    lines = ["digraph pipeline {", f"  rankdir={direction};", '  node [fontname="Helvetica"];']
    for node in order:
        colour, shape = STYLES[_tier(diagram, node)]
        label = _label(diagram, node)
        extra = ""
        if counts is not None and node in counts:
            label += f"\\n{counts[node]} rows"
            extra = ', color="#dd0000", penwidth=3'
        label = label.replace('"', '\\"')
        lines.append(
            f'  "{_esc(node)}" [label="{label}", shape={shape}, style=filled, '
            f'fillcolor="{colour}"{extra}];'
        )
    visible = set(order)
    for parent, child, data in diagram.graph.edges(data=True):
        if parent in visible and child in visible:
            style = "solid" if data.get("primary") else "dashed"
            lines.append(f'  "{_esc(parent)}" -> "{_esc(child)}" [style={style}];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def _esc(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def svg(diagram: Diagram) -> str:
    """SVG drawn by the Graphviz ``dot`` program."""
    program = shutil.which("dot")
    if program is None:
        raise DataJointError("SVG needs the Graphviz 'dot' program (apt-get install graphviz)")
    result = subprocess.run(
        [program, "-Tsvg"], input=dot(diagram).encode(), capture_output=True, check=False
    )
    if result.returncode != 0:
        raise DataJointError(f"dot failed: {result.stderr.decode(errors='replace')}")
    return result.stdout.decode()


def svg_or_none(diagram: Diagram) -> str | None:
    try:
        return svg(diagram)
    except DataJointError:
        return None
