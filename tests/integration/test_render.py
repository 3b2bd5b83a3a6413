"""Rendering diagrams: Mermaid, DOT (a pydot graph), SVG / PNG (when Graphviz is installed),
collapsed schemas, themes and notebook reprs; the drawing agrees with the reference's."""

from __future__ import annotations

import re
import shutil
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import datajoint_core as dj
from datajoint_core.graph import render

from ..conftest import Server
from .fidelity import assert_agree, probe
from .pipeline import declare_lab

CLASSES = ["Subject", "Session", "Stimulus", "Trial", "Trial.Event", "Pairing"]
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' not installed")


@pytest.fixture
def lab(inst: dj.Instance, schema_name: str) -> dict[str, Any]:
    return declare_lab(inst.connection, schema_name)


def _mermaid_nodes(text: str) -> dict[str, tuple[str, str]]:
    """Mermaid node id -> (label, tier class)."""
    found = re.findall(r'^\s+(\w+)\(?\["([^"]*)"\]\)?:::(\w+)$', text, re.MULTILINE)
    return {node: (label, tier) for node, label, tier in found}


def _edges(dot: Any) -> list[tuple[str, str, float, str]]:
    """(parent, child, penwidth, style) of every edge of a pydot graph."""
    return sorted(
        (
            e.get_source().strip('"'),
            e.get_destination().strip('"'),
            float(e.get_penwidth()),
            e.get_style(),
        )
        for e in dot.get_edges()
    )


def test_mermaid_has_every_table_tiers_clusters_and_weights(lab: dict[str, Any]) -> None:
    text = dj.Diagram(lab["schema"]).make_mermaid()
    assert text.startswith("flowchart LR")
    nodes = _mermaid_nodes(text)
    assert sorted(nodes) == ["Pairing", "Session", "Stimulus", "Subject", "Trial", "Trial_Event"]
    assert nodes["Stimulus"] == ("Stimulus", "lookup")
    assert nodes["Trial_Event"] == ("Event", "part")  # a Part shows its own name
    assert nodes["Subject"] == ("Subject", "manual")
    fills = dict(re.findall(r"classDef (\w+) fill:(#[0-9A-F]{6})", text))
    assert fills["manual"] == "#E8F0E9" and fills["lookup"] == "#F0F0F1"
    assert len(set(fills.values())) == len(fills) == 6
    assert f'subgraph {lab["schema"].database}["{lab["schema"].database}"]' in text
    assert "subgraph entity_Trial[" in text
    arrows = re.findall(r"^    (\w+) --> (\w+)$", text, re.MULTILINE)
    assert len(arrows) == 6 and "-.->" not in text  # one arrow per foreign key
    styles = re.findall(r"linkStyle (\d+) stroke:(#\w+),stroke-width:(\d)px", text)
    assert [int(i) for i, _, _ in styles] == list(range(6))
    by_edge = dict(zip(arrows, [(c, int(w)) for _, c, w in styles]))
    assert by_edge[("Subject", "Pairing")] == ("#C77D3A", 1)  # renamed, one of two key columns
    assert by_edge[("Session", "Trial")] == ("#171C39", 1)  # Trial adds trial_id
    assert "restricted" not in text


def test_mermaid_of_a_restricted_diagram_shows_counts(lab: dict[str, Any]) -> None:
    d = dj.Diagram(lab["schema"]).restrict(lab["Subject"] & {"species": "mouse"})
    text = d.make_mermaid()
    nodes = _mermaid_nodes(text)
    labels = {label: node for node, (label, _) in nodes.items()}
    for name, count in [("Subject", 2), ("Pairing", 1), ("Session", 3), ("Trial", 4)]:
        assert f"{name} ({count})" in labels
    assert "Event (3)" in labels
    assert "Stimulus" in labels  # unrestricted: shown, no count
    (restricted,) = re.findall(r"class ([\w,]+) restricted", text)
    assert set(restricted.split(",")) == {n for lbl, n in labels.items() if "(" in lbl}


def test_make_dot_is_a_pydot_graph_with_the_reference_styles(lab: dict[str, Any]) -> None:
    dot = dj.Diagram(lab["schema"]).make_dot(theme="light")
    nodes = {n.get_name().strip('"'): n for n in dot.get_nodes()}
    assert sorted(nodes) == sorted(CLASSES)
    subject, stimulus, event = nodes["Subject"], nodes["Stimulus"], nodes["Trial.Event"]
    assert (subject.get_shape(), subject.get_fillcolor().strip('"')) == ("box", "#E8F0E9")
    assert stimulus.get_fillcolor().strip('"') == "#F0F0F1"
    assert event.get_label() == "<<u>Event</u>>" and event.get_fontsize() == "10"
    assert nodes["Subject"].get_label() == "<<u>Subject</u>>"  # adds a key attribute
    edges = _edges(dot)
    assert ("Session", "Trial", 0.75, "solid") in edges  # one-to-many: thin
    assert ("Stimulus", "Trial", 0.75, "dashed") in edges  # secondary: dashed
    assert edges.count(("Subject", "Pairing", 0.75, "solid")) == 2  # parallel renamed keys
    (entity,) = [
        sub.get_name().strip('"') for top in dot.get_subgraphs() for sub in top.get_subgraphs()
    ]
    assert entity == "cluster_entity_Trial"
    dark = dj.Diagram(lab["schema"]).make_dot(theme="dark")
    assert dark.get_bgcolor().strip('"') == "#161A21"
    counted = dj.Diagram(lab["schema"]).cascade(lab["Subject"] & {"subject_id": 1}).make_dot()
    labels = {n.get_name().strip('"'): n.get_label() for n in counted.get_nodes()}
    assert labels["Trial"] == "<<u>Trial</u><br/>3 rows>" and labels["Subject"] == (
        "<<u>Subject</u><br/>1 row>"
    )
    assert "Stimulus" not in labels  # a cascade keeps only the seed and its descendants


def test_collapse_draws_a_schema_as_one_node_and_bundles_its_edges(
    lab: dict[str, Any], inst: dj.Instance, schema_name: str
) -> None:
    other = dj.Schema(f"{schema_name}_x", connection=inst.connection)
    Subject, Session = lab["Subject"], lab["Session"]  # named by the definitions below
    try:

        @other
        class Extra(dj.Computed):
            definition = """
            -> Session
            extra_id : int32
            ---
            -> [nullable] Subject.proj(other='subject_id')
            """

        assert Subject is not None and Session is not None
        both = dj.Diagram(lab["schema"]) + dj.Diagram(other)
        collapsed = both.collapse().make_dot()
        names = sorted(n.get_name().strip('"') for n in collapsed.get_nodes())
        assert names == [f"{schema_name}.tables", f"{schema_name}_x.tables"]
        labels = {n.get_label().strip('"') for n in collapsed.get_nodes()}
        assert labels == {"(6 tables)", "(1 table)"}
        # two foreign keys (one primary, one secondary) drawn as one uniform bundle
        assert _edges(collapsed) == [
            (f"{schema_name}.tables", f"{schema_name}_x.tables", 2.0, "solid")
        ]
        partly = (both.collapse() + dj.Diagram(Extra)).make_dot()
        assert sorted((s, d) for s, d, _, _ in _edges(partly)) == [
            (f"{schema_name}.tables", "Extra")
        ]
        assert _edges(partly)[0][2] == 0.75  # one expanded end: the key's own weight
        text = (both.collapse() + dj.Diagram(Extra)).make_mermaid()
        assert f'{schema_name}_tables[["(6 tables)"]]:::collapsed' in text
        # ``- n`` adds ancestors without expanding them; ``+ n`` expands what it adds
        upstream = dj.Diagram(Extra) - 1
        assert sorted(n.get_name().strip('"') for n in upstream.make_dot().get_nodes()) == [
            "Extra",
            f"{schema_name}.tables",
        ]
        down = (dj.Diagram(Subject).collapse() + 1).make_dot()
        assert {n.get_name().strip('"') for n in down.get_nodes()} >= {"Subject", "Session"}
    finally:
        inst.connection.execute(inst.connection.adapter.drop_schema_sql(f"{schema_name}_x"))


def test_part_of_part_ids_and_labels(inst: dj.Instance, schema_name: str) -> None:
    schema = dj.Schema(schema_name, connection=inst.connection)

    @schema
    class Scan(dj.Imported):
        definition = """
        scan : int32
        """

        class Field(dj.Part):
            definition = """
            -> master
            field : int32
            """

            class Roi(dj.Part):
                definition = """
                -> master
                roi : int32
                """

    assert Scan is not None
    nodes = _mermaid_nodes(dj.Diagram(schema).make_mermaid())
    assert nodes == {
        "Scan": ("Scan", "imported"),
        "Scan_Field": ("Field", "part"),
        "Scan_Field_Roi": ("Roi", "part"),
    }
    dot = dj.Diagram(schema).make_dot()
    assert sorted(n.get_name() for n in dot.get_nodes()) == [
        '"Scan"',
        '"Scan.Field"',
        '"Scan.Field.Roi"',
    ]


def test_namesakes_in_two_schemas_are_named_by_schema(
    lab: dict[str, Any], inst: dj.Instance, schema_name: str
) -> None:
    other = dj.Schema(f"{schema_name}_x", connection=inst.connection)
    Subject = lab["Subject"]  # named by the definition below
    try:

        @other
        class Session(dj.Computed):
            definition = """
            -> Subject
            """

        @other
        class Extra(dj.Manual):
            definition = """
            -> Session
            """

        assert Subject is not None and Session is not None and Extra is not None
        text = (dj.Diagram(lab["schema"]) + dj.Diagram(other)).make_mermaid()
        nodes = _mermaid_nodes(text)
        assert nodes[f"{schema_name}_x_Session"] == (f"{schema_name}_x.Session", "computed")
        assert nodes[f"{schema_name}_Session"] == (f"{schema_name}.Session", "manual")
        assert nodes["Extra"] == ("Extra", "manual")  # unique: the class name alone
        assert f'subgraph {schema_name}_x["{schema_name}_x"]' in text
    finally:
        inst.connection.execute(inst.connection.adapter.drop_schema_sql(f"{schema_name}_x"))


def test_repr_mimebundle(lab: dict[str, Any]) -> None:
    d = dj.Diagram(lab["schema"])
    bundle = d._repr_mimebundle_()
    assert bundle["text/plain"] == repr(d)
    assert bundle["text/vnd.mermaid"] == d.make_mermaid()
    if shutil.which("dot") is None:
        assert "image/svg+xml" not in bundle
        assert d._repr_svg_() is None
        with pytest.raises(dj.DataJointError, match="dot"):
            d.svg_string()
    else:
        assert bundle["image/svg+xml"].lstrip().startswith(("<?xml", "<svg"))


@needs_dot
def test_svg_themes_and_png(lab: dict[str, Any], inst: dj.Instance, tmp_path: Path) -> None:
    d = dj.Diagram(lab["schema"]).restrict(lab["Subject"] & {"species": "mouse"})
    inst.config["display.diagram_theme"] = "light"
    svg = d.svg_string()
    assert "<svg" in svg and ">Event<" in svg and "3 rows" in svg
    assert "#e8f0e9" in svg.lower() and "cluster_entity_Trial" in svg
    assert 'stroke-width="0.75"' in svg and "prefers-color-scheme" not in svg
    assert d.make_svg() == svg and d.make_svg().data == svg and d._repr_svg_() == svg
    inst.config["display.diagram_theme"] = "dark"
    assert "#161a21" in d.svg_string().lower()
    inst.config["display.diagram_theme"] = "auto"
    adaptive = d.svg_string()
    assert "@media (prefers-color-scheme: dark)" in adaptive and "#16281F" in adaptive
    png = d.make_png().getvalue()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    d.save(str(tmp_path / "d.png"))
    assert (tmp_path / "d.png").read_bytes().startswith(b"\x89PNG")
    d.save(str(tmp_path / "d.svg"))
    assert "<svg" in (tmp_path / "d.svg").read_text()
    pytest.importorskip("matplotlib")
    image = d.make_image()
    assert image.ndim == 3 and image.shape[2] in (3, 4)


def test_themes_are_readable_and_map_one_to_one() -> None:
    """Every tier's text on its fill holds WCAG AA (4.5:1) in both themes, and each light
    colour has one dark counterpart (the adaptive SVG style block depends on it)."""

    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    for theme in render.THEMES.values():
        for fill, _, text in theme.palette.values():
            high, low = sorted([luminance(text), luminance(fill)], reverse=True)
            assert (high + 0.05) / (low + 0.05) >= 4.5, (fill, text)
    light, dark = render.THEMES["light"], render.THEMES["dark"]
    mapping: dict[tuple[str, str], str] = {}
    for index, kind in ((0, "fill"), (1, "stroke"), (2, "fill")):
        for tier, colours in light.palette.items():
            key = (kind, colours[index].lower())
            assert mapping.setdefault(key, dark.palette[tier][index]) == dark.palette[tier][index]
    block = render.adaptive_style_block()
    assert '[fill="#e8f0e9"] { fill: #16281F; }' in block


def test_add_parts_from_sequence_and_save(
    inst: dj.Instance, schema_name: str, tmp_path: Any
) -> None:
    conn = inst.connection
    lab = declare_lab(conn, schema_name)
    trial = dj.Diagram(lab["Trial"])
    names = {conn.adapter.split_full_name(n)[1] for n in trial.add_parts().nodes_to_show}
    assert names == {"trial", "trial__event"}
    both = dj.Diagram.from_sequence([lab["Subject"], lab["Session"]])
    assert len(both) == 2
    trial.add_parts().save(str(tmp_path / "d.mmd"))
    assert "flowchart" in (tmp_path / "d.mmd").read_text()
    trial.save(str(tmp_path / "d.dot"))
    assert (tmp_path / "d.dot").read_text().startswith("digraph {")
    with pytest.raises(dj.DataJointError, match="infer format"):
        trial.save(str(tmp_path / "d.unknown"))


# -- the same drawing as the reference -----------------------------------------------------------
@pytest.fixture
def names(inst: dj.Instance) -> Iterator[Callable[[], str]]:
    made: list[str] = []

    def make() -> str:
        made.append(f"djtest_{uuid.uuid4().hex[:10]}")
        return made[-1]

    yield make
    for name in made:
        for schema in (f"{name}_other", name):
            inst.connection.execute(inst.connection.adapter.drop_schema_sql(schema))


def test_drawing_agrees_with_the_reference(
    reference_python: str, server: Server, tmp_path: Path, names: Callable[[], str]
) -> None:
    """make_dot / make_mermaid of the same pipeline in both packages: each node's shape, colours,
    font and label, each edge's weight, style and colour, the entity clusters, the dark theme,
    the linkStyles, and collapsed schemas (a bundle; one collapsed end; ``- 1``)."""
    (tmp_path / "r").mkdir()
    (tmp_path / "o").mkdir()
    theirs = probe(reference_python, "datajoint", "drawing", tmp_path / "r", server=server,
                   schema=names())  # fmt: skip
    ours = probe(sys.executable, "datajoint_core", "drawing", tmp_path / "o", server=server,
                 schema=names())  # fmt: skip
    assert_agree(theirs, ours)
    assert ours["bundle"] == [["<collapsed>", "<collapsed>", "2", "solid", "#171C399E", "3"]]
    assert ours["light"]["nodes"]["Session.Note"]["label"] == "_Note"
