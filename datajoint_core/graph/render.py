"""Drawing a pipeline as Mermaid, Graphviz DOT, SVG or PNG, from plain data (a :class:`Picture`
that ``Diagram.picture()`` makes). Presentation only: no graph logic, no database.

The drawing follows the reference's (datajoint 2.3.5): its light / dark colour themes per tier,
one cluster per schema with each master and its parts in a shaded entity cluster, solid lines
for primary and dashed for secondary foreign keys, thick lines for a 1:1 dependency and thin for
one-to-many, amber for a renamed foreign key, and a collapsed group of tables as one 3-D box.
Restricted diagrams add the row count of each restricted table (outlined in red).
"""

from __future__ import annotations

import html
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any

from ..errors import DataJointError

COLLAPSED = "collapsed"
TIERS = ("Manual", "Lookup", "Computed", "Imported", "Part")


@dataclass(frozen=True)
class Node:
    """A table (or a collapsed group of tables) to draw.

    ``name`` is its id in the drawing (the class name, ``Session.Note``), ``label`` the text
    shown (a Part shows its own name: its entity cluster carries the master), ``tier`` a key of
    :data:`STRUCTURE`, ``master`` the id of a Part's master, ``count`` the rows a restricted
    diagram selects, ``tables`` how many tables a collapsed node stands for.
    """

    name: str
    label: str
    tier: str
    schema: str = ""
    master: str | None = None
    count: int | None = None
    introduces_dimension: bool = False
    tables: int = 0


@dataclass(frozen=True)
class Edge:
    """A foreign key from ``parent`` to ``child`` (ids); ``bundle``: both ends collapsed, standing
    for every foreign key between two groups (drawn alike, claiming no per-key style)."""

    parent: str
    child: str
    primary: bool  # the foreign key lies in the child's primary key: a solid line
    multi: bool = True  # the child adds key attributes: one-to-many, a thin line
    aliased: bool = False  # a renamed foreign key: amber
    bundle: bool = False
    renames: str = ""  # "child ← parent" of the renamed columns (a tooltip)


@dataclass(frozen=True)
class Picture:
    """Nodes in topological order, the edges between them, the direction, and each schema's
    cluster label."""

    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    direction: str = "LR"
    clusters: tuple[tuple[str, str], ...] = ()  # (schema, label)


_SCALE = 1.2
# tier -> (shape, font size, box size, rounded): theme-independent, as the reference draws them
STRUCTURE: dict[str, tuple[str, int, float, bool]] = {
    "Manual": ("box", round(_SCALE * 10), 0.4 * _SCALE, True),
    "Lookup": ("box", round(_SCALE * 10), 0.4 * _SCALE, True),
    "Computed": ("ellipse", round(_SCALE * 10), 0.4 * _SCALE, False),
    "Imported": ("ellipse", round(_SCALE * 10), 0.4 * _SCALE, False),
    "Part": ("box", round(_SCALE * 8), 0.1 * _SCALE, True),
    COLLAPSED: ("box3d", round(_SCALE * 10), 0.5 * _SCALE, False),
}


@dataclass(frozen=True)
class Theme:
    """A colour theme: per tier (fill, stroke, text), the background, edges, clusters."""

    palette: dict[str, tuple[str, str, str]]
    background: str | None
    edge: str
    edge_renamed: str
    edge_alpha: str
    schema_cluster: tuple[str, str]  # (frame, label)
    entity_fill: str


THEMES = {
    "light": Theme(
        palette={
            "Manual": ("#E8F0E9", "#3E7A52", "#28513A"),
            "Lookup": ("#F0F0F1", "#808285", "#5A5C5F"),
            "Computed": ("#FFEDE5", "#FF5113", "#B23200"),
            "Imported": ("#E0F4FC", "#00A0DF", "#00537A"),
            "Part": ("#FFFFFF", "#B9BBBE", "#55585C"),
            COLLAPSED: ("#EDEEF0", "#808890", "#404040"),
        },
        background=None,
        edge="#171C39",
        edge_renamed="#C77D3A",
        edge_alpha="9E",
        schema_cluster=("#171D3A", "#171C39"),
        entity_fill="#F3F5F8",
    ),
    "dark": Theme(
        palette={
            "Manual": ("#16281F", "#6BBF94", "#BCE6CF"),
            "Lookup": ("#242832", "#9DA0A4", "#C9CFD9"),
            "Computed": ("#331B12", "#FF7A47", "#FFC7AE"),
            "Imported": ("#0F2433", "#33B8E8", "#BEE7F9"),
            "Part": ("#1E232C", "#8F959D", "#C8CED8"),
            COLLAPSED: ("#242730", "#8890A0", "#C7CDD6"),
        },
        background="#161A21",
        edge="#AEB6C2",
        edge_renamed="#D68C4A",
        edge_alpha="C0",
        schema_cluster=("#606875", "#8A93A1"),
        entity_fill="#2A313D",
    ),
}

RESTRICTED = "#DD0000"  # the outline of a restricted table with its row count


def theme_of(name: str | None) -> Theme:
    """The theme called ``name``; ``auto`` draws light (the SVG adapts it to dark mode)."""
    return THEMES.get(name or "light", THEMES["light"])


# -- Mermaid -------------------------------------------------------------------------------------
_MERMAID_SHAPES = {
    "Manual": ("[", "]"),
    "Lookup": ("[", "]"),
    "Part": ("[", "]"),
    "Computed": ("([", "])"),
    "Imported": ("([", "])"),
}


def _mermaid_id(name: str) -> str:
    return "".join(c if c.isalnum() or c == "_" else "_" for c in name)


def mermaid(picture: Picture) -> str:
    """Mermaid flowchart text in the reference's notation (light palette as classDefs, one
    subgraph per schema, entity subgraphs, a linkStyle per edge); restricted tables show their
    row counts."""
    light = THEMES["light"]
    lines = [f"flowchart {picture.direction}", ""]
    for tier in (*TIERS, COLLAPSED):
        fill, stroke, text = light.palette[tier]
        lines.append(f"    classDef {tier.lower()} fill:{fill},stroke:{stroke},color:{text}")
    restricted = [_mermaid_id(n.name) for n in picture.nodes if n.count is not None]
    if restricted:
        lines.append(f"    classDef restricted stroke:{RESTRICTED},stroke-width:3px")
    lines.append("")

    def node_line(node: Node, indent: str) -> str:
        ident = _mermaid_id(node.name)
        if node.tier == COLLAPSED:
            return f'{indent}{ident}[["({_tables(node.tables)})"]]:::collapsed'
        label = node.label if node.count is None else f"{node.label} ({node.count})"
        label = label.replace('"', "'")
        left, right = _MERMAID_SHAPES[node.tier]
        return f'{indent}{ident}{left}"{label}"{right}:::{node.tier.lower()}'

    labels = dict(picture.clusters)
    for schema, members in _by_schema(picture):
        lines.append(f'    subgraph {_mermaid_id(schema)}["{labels.get(schema, schema)}"]')
        parts = _parts_by_master(members)
        done: set[str] = set()
        for node in members:
            if node.name in parts and node.name not in done:
                lines.append(f'        subgraph entity_{_mermaid_id(node.name)}[" "]')
                for member in (node, *parts[node.name]):
                    lines.append(node_line(member, "            "))
                    done.add(member.name)
                lines.append("        end")
        lines += [node_line(n, "        ") for n in members if n.name not in done]
        lines.append("    end")
    lines.append("")
    styles = []
    for index, edge in enumerate(picture.edges):
        lines.append(f"    {_mermaid_id(edge.parent)} --> {_mermaid_id(edge.child)}")
        colour = light.edge_renamed if edge.aliased and not edge.bundle else light.edge
        width = "1px" if edge.multi and not edge.bundle else "2px"
        styles.append(f"    linkStyle {index} stroke:{colour},stroke-width:{width}")
    lines += styles
    if restricted:
        lines.append(f"    class {','.join(restricted)} restricted")
    return "\n".join(lines)


# -- DOT -----------------------------------------------------------------------------------------
@dataclass
class Cluster:
    """A subgraph: its name, attributes, the nodes it places, its own subgraphs and the nodes
    that share a rank in it."""

    name: str
    attrs: dict[str, str]
    nodes: list[str]
    clusters: list[Cluster]
    same_rank: list[str]


@dataclass
class Layout:
    """Everything a DOT graph holds, as plain values (attribute values already DOT-quoted)."""

    attrs: dict[str, str]
    nodes: dict[str, dict[str, str]]
    edges: list[tuple[str, str, dict[str, str]]]
    clusters: list[Cluster]


def layout(picture: Picture, theme: str | None = None) -> Layout:
    """The DOT graph of a picture: every node and edge at the top level (so a DOT reader lists
    them all), then the schema clusters and entity clusters that place them."""
    colours = theme_of(theme)
    attrs = {"rankdir": picture.direction}
    if colours.background:
        attrs["bgcolor"] = _q(colours.background)
    nodes = {node.name: _node_attrs(node, colours) for node in picture.nodes}
    edges = [(e.parent, e.child, _edge_attrs(e, colours)) for e in picture.edges]
    labels = dict(picture.clusters)
    frame, label_colour = colours.schema_cluster
    clusters = []
    for schema, members in _by_schema(picture):
        cluster = Cluster(
            "cluster_" + schema,
            {
                "label": _q(labels.get(schema, schema)),
                "labelloc": "t",
                "labeljust": "r",
                "style": '"rounded,dashed"',
                "color": _q(frame),
                "fontcolor": _q(label_colour),
                "fontname": "Helvetica",
            },
            [],
            [],
            [],
        )
        parts = _parts_by_master(members)
        grouped: set[str] = set()
        for node in members:
            if node.name not in parts or node.name in grouped:
                continue
            group = [node.name, *(p.name for p in parts[node.name])]
            grouped |= set(group)
            # master and parts share a rank, except a part that depends on a sibling part
            siblings = set(group[1:])
            after_sibling = {
                e.child for e in picture.edges if e.parent in siblings and e.child in siblings
            }
            entity_attrs = {
                "label": '""',
                "style": '"rounded,filled"',
                "fillcolor": _q(colours.entity_fill),
                "color": _q(colours.entity_fill),
            }
            same_rank = [n for n in group if n not in after_sibling]
            entity = Cluster(
                "cluster_entity_" + node.name.replace(".", "_"),
                entity_attrs,
                group,
                [],
                same_rank if len(same_rank) > 1 else [],
            )
            cluster.clusters.append(entity)
        cluster.nodes = [n.name for n in members if n.name not in grouped]
        clusters.append(cluster)
    return Layout(attrs, nodes, edges, clusters)


def dot(picture: Picture, theme: str | None = None) -> str:
    """Graphviz DOT text of a picture (see :func:`layout`)."""
    graph = layout(picture, theme)
    lines = ["digraph {", *(f"{k}={v};" for k, v in graph.attrs.items())]
    lines += [_statement(_q(name), attrs) for name, attrs in graph.nodes.items()]
    lines += [_statement(f"{_q(a)} -> {_q(b)}", attrs) for a, b, attrs in graph.edges]

    def emit(cluster: Cluster) -> None:
        lines.append(f"subgraph {_q(cluster.name)} {{")
        lines.extend(f"{k}={v};" for k, v in cluster.attrs.items())
        for inner in cluster.clusters:
            emit(inner)
        lines.extend(_statement(_q(name), graph.nodes[name]) for name in cluster.nodes)
        if cluster.same_rank:
            lines.extend(["subgraph {", "rank=same;", *(f"{_q(n)};" for n in cluster.same_rank)])
            lines.append("}")
        lines.append("}")

    for cluster in graph.clusters:
        emit(cluster)
    lines.append("}")
    return "\n".join(lines) + "\n"


def pydot_graph(picture: Picture, theme: str | None = None) -> Any:
    """The same graph as :func:`dot`, built as a ``pydot.Dot`` (pydot is imported here)."""
    import pydot as untyped

    pydot: Any = untyped  # attribute values are DOT text; pydot's stubs want other types
    graph = layout(picture, theme)
    top = pydot.Dot(graph_type="digraph", **graph.attrs)
    made = {name: pydot.Node(_q(name), **attrs) for name, attrs in graph.nodes.items()}
    for node in made.values():
        top.add_node(node)
    for a, b, attrs in graph.edges:
        top.add_edge(pydot.Edge(_q(a), _q(b), **attrs))

    def build(cluster: Cluster) -> Any:
        sub = pydot.Subgraph(_q(cluster.name), **cluster.attrs)
        for inner in cluster.clusters:
            sub.add_subgraph(build(inner))
        for name in cluster.nodes:
            sub.add_node(made[name])
        if cluster.same_rank:
            rank = pydot.Subgraph(rank="same")
            for name in cluster.same_rank:
                rank.add_node(pydot.Node(_q(name)))
            sub.add_subgraph(rank)
        return sub

    for cluster in graph.clusters:
        top.add_subgraph(build(cluster))
    return top


def _statement(head: str, attrs: dict[str, str]) -> str:
    return f"{head} [{', '.join(f'{k}={v}' for k, v in attrs.items())}];"


def _node_attrs(node: Node, colours: Theme) -> dict[str, str]:
    shape, fontsize, size, rounded = STRUCTURE[node.tier]
    fill, stroke, text = colours.palette[node.tier]
    attrs = {
        "shape": shape,
        "fontsize": str(fontsize),
        "fontcolor": _q(text),
        "fontname": "Helvetica",
        "fixedsize": "false",
        "width": f"{size:g}",
        "height": f"{size:g}",
        "margin": '"0.11,0.06"',
    }
    if node.tier == COLLAPSED:
        attrs["label"] = _q(f"({_tables(node.tables)})")
        attrs["tooltip"] = _q(f"Collapsed schema: {node.tables} tables")
    else:
        shown = html.escape(node.label)
        if node.introduces_dimension:
            shown = f"<u>{shown}</u>"
        if node.count is not None:
            shown += f"<br/>{node.count} row{'' if node.count == 1 else 's'}"
        attrs["label"] = f"<{shown}>"
    attrs["fillcolor"] = _q(fill)
    attrs["color"] = _q(RESTRICTED if node.count is not None else stroke)
    attrs["style"] = _q("rounded,filled" if rounded else "filled")
    if node.count is not None:
        attrs["penwidth"] = "3"
    return attrs


def _edge_attrs(edge: Edge, colours: Theme) -> dict[str, str]:
    if edge.bundle:
        return {
            "color": _q(colours.edge + colours.edge_alpha),
            "style": "solid",
            "penwidth": "2",
            "weight": "3",
            "arrowhead": "none",
        }
    base = colours.edge_renamed if edge.aliased else colours.edge
    attrs = {
        "color": _q(base + colours.edge_alpha),
        "style": "solid" if edge.primary else "dashed",
        "penwidth": "0.75" if edge.multi else "2",
        "weight": "1" if edge.multi else "3",
        "arrowhead": "none",
    }
    if edge.renames:
        attrs["tooltip"] = _q(edge.renames)
    return attrs


def _q(text: str) -> str:
    """A quoted DOT identifier or string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _tables(count: int) -> str:
    return "1 table" if count == 1 else f"{count} tables"


def _by_schema(picture: Picture) -> list[tuple[str, list[Node]]]:
    groups: dict[str, list[Node]] = {}
    for node in picture.nodes:
        groups.setdefault(node.schema, []).append(node)
    return list(groups.items())


def _parts_by_master(members: list[Node]) -> dict[str, list[Node]]:
    """Master id -> its Parts among ``members`` (both must be drawn in the same schema)."""
    names = {n.name for n in members}
    parts: dict[str, list[Node]] = {}
    for node in members:
        if node.master is not None and node.master in names:
            parts.setdefault(node.master, []).append(node)
    return parts


# -- SVG and PNG ---------------------------------------------------------------------------------
def _graphviz(source: str, fmt: str) -> bytes:
    program = shutil.which("dot")
    if program is None:
        raise DataJointError(
            f"{fmt.upper()} needs the Graphviz 'dot' program (apt-get install graphviz)"
        )
    result = subprocess.run(
        [program, f"-T{fmt}"], input=source.encode(), capture_output=True, check=False
    )
    if result.returncode != 0:
        raise DataJointError(f"dot failed: {result.stderr.decode(errors='replace')}")
    return result.stdout


def svg(picture: Picture, theme: str | None = None) -> str:
    """SVG drawn by the Graphviz ``dot`` program; theme ``auto`` draws light and adds a style
    block that switches to the dark colours where the viewer prefers a dark scheme."""
    text = _graphviz(dot(picture, "light" if theme == "auto" else theme), "svg").decode()
    if theme == "auto":
        at = text.find(">", text.find("<svg")) + 1
        text = text[:at] + "\n" + adaptive_style_block() + text[at:]
    return text


def png(picture: Picture, theme: str | None = None) -> bytes:
    return _graphviz(dot(picture, "light" if theme == "auto" else theme), "png")


def svg_or_none(picture: Picture, theme: str | None = None) -> str | None:
    try:
        return svg(picture, theme)
    except DataJointError:
        return None


def adaptive_style_block() -> str:
    """A ``<style>`` block mapping each light colour of an SVG to its dark counterpart under
    ``prefers-color-scheme: dark`` (the palettes map one to one; Graphviz writes lowercase)."""
    light, dark = THEMES["light"], THEMES["dark"]
    opacity = round(int(dark.edge_alpha, 16) / 255, 3)
    rules = [
        f"svg {{ background-color: {dark.background}; }}",
        f'polygon[fill="white"] {{ fill: {dark.background}; }}',
    ]

    def fill(light_hex: str, dark_hex: str) -> str:
        return f'[fill="{light_hex.lower()}"] {{ fill: {dark_hex}; }}'

    def stroke(light_hex: str, dark_hex: str, alpha: float | None = None) -> str:
        extra = f" stroke-opacity: {alpha};" if alpha is not None else ""
        return f'[stroke="{light_hex.lower()}"] {{ stroke: {dark_hex};{extra} }}'

    for tier, (lf, ls, lt) in light.palette.items():
        df, ds, dt = dark.palette[tier]
        rules += [fill(lf, df), stroke(ls, ds), fill(lt, dt)]
    rules += [
        stroke(light.edge, dark.edge, opacity),
        stroke(light.edge_renamed, dark.edge_renamed, opacity),
        fill(light.entity_fill, dark.entity_fill),
        stroke(light.entity_fill, dark.entity_fill),
        stroke(light.schema_cluster[0], dark.schema_cluster[0]),
        fill(light.schema_cluster[1], dark.schema_cluster[1]),
    ]
    body = "\n".join("  " + r for r in rules)
    return "<style>\n@media (prefers-color-scheme: dark) {\n" + body + "\n}\n</style>"


class SVG(str):
    """SVG text that notebooks display as an image (``.data`` as IPython's ``SVG`` has)."""

    @property
    def data(self) -> str:
        return str(self)

    def _repr_svg_(self) -> str:
        return str(self)
