"""Rendering a Diagram as Mermaid, Graphviz DOT or SVG. Presentation only, no graph logic."""

from __future__ import annotations

import shutil
import subprocess
from typing import TYPE_CHECKING

from ..errors import DataJointError

if TYPE_CHECKING:
    from .diagram import Diagram

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


def _tier(diagram: Diagram, node: str) -> str:
    from ..user_tables import tier_of

    data = diagram.graph.nodes[node]
    if data.get("master"):
        return "Part"
    return tier_of(data["table"])[0].__name__


def _class_name(diagram: Diagram, node: str) -> str:
    """``Trial`` for ``#trial``-like names; ``Trial.Event`` (and ``M.P.Q``) for Parts."""
    from ..user_tables import tier_of, to_camel

    data = diagram.graph.nodes[node]
    master = data.get("master")
    if master is None or master not in diagram.graph:
        return to_camel(tier_of(data["table"])[1])
    own = data["table"][len(diagram.graph.nodes[master]["table"]) + 2 :]
    return f"{_class_name(diagram, master)}.{to_camel(own)}"


def _label(diagram: Diagram, node: str) -> str:
    data = diagram.graph.nodes[node]
    name = _class_name(diagram, node)
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
        tier = _tier(diagram, node)
        opening, closing = STYLES[tier][2]
        label = label.replace('"', "'")
        lines.append(f"    {ids[node]}{opening}{label}{closing}:::{tier.lower()}")
    for parent, child, data in diagram.graph.edges(data=True):
        if parent in ids and child in ids:
            arrow = "-->" if data.get("primary") else "-.->"
            lines.append(f"    {ids[parent]} {arrow} {ids[child]}")
    for tier, (colour, _, _) in STYLES.items():
        size = ",font-size:11px" if tier == "Part" else ""
        lines.append(f"    classDef {tier.lower()} fill:{_opaque(colour)},stroke:#333{size}")
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
        tier = _tier(diagram, node)
        colour, shape, _ = STYLES[tier]
        label = _label(diagram, node)
        extra = ""
        if counts is not None and node in counts:
            label += f"\\n{counts[node]} row{'' if counts[node] == 1 else 's'}"
            extra = ', color="#dd0000", penwidth=3'
        label = label.replace('"', '\\"')
        if tier == "Part":
            extra += ", fontsize=10"
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
