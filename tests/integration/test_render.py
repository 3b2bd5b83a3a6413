"""Rendering diagrams: Mermaid, DOT, SVG (when Graphviz is installed), notebook reprs."""

from __future__ import annotations

import re
import shutil
from typing import Any

import pytest

import datajoint_core as dj

from .pipeline import declare_lab

CLASSES = ["Subject", "Session", "Stimulus", "Trial", "Trial.Event", "Pairing"]
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' not installed")


@pytest.fixture
def lab(inst: dj.Instance, schema_name: str) -> dict[str, Any]:
    return declare_lab(inst.connection, schema_name)


def _mermaid_nodes(text: str) -> dict[str, tuple[str, str]]:
    """Mermaid node id -> (label, tier class)."""
    found = re.findall(r'^\s+(t\d+)\(?\["([^"]*)"\]\)?:::(\w+)$', text, re.MULTILINE)
    return {node: (label, tier) for node, label, tier in found}


def test_mermaid_has_every_table_and_distinct_tiers(lab: dict[str, Any]) -> None:
    text = dj.Diagram(lab["schema"]).make_mermaid()
    assert text.startswith("flowchart LR")
    nodes = _mermaid_nodes(text)
    labels = {label: tier for label, tier in nodes.values()}
    assert sorted(labels) == sorted(CLASSES)
    assert labels["Stimulus"] == "lookup" and labels["Trial.Event"] == "part"
    assert labels["Subject"] == "manual"
    fills = dict(re.findall(r"classDef (\w+) fill:(#[0-9A-F]{6})", text))
    assert len(set(fills.values())) == len(fills) == 5
    assert text.count("-->") + text.count("-.->") == 6  # one arrow per foreign key
    assert "restricted" not in text


def test_mermaid_of_a_restricted_diagram_shows_counts(lab: dict[str, Any]) -> None:
    d = dj.Diagram(lab["schema"]).restrict(lab["Subject"] & {"species": "mouse"})
    text = d.make_mermaid()
    nodes = _mermaid_nodes(text)
    labels = {label: node for node, (label, _) in nodes.items()}
    for name, count in [("Subject", 2), ("Pairing", 1), ("Session", 3), ("Trial", 4)]:
        assert f"{name} ({count})" in labels
    assert "Trial.Event (3)" in labels
    assert "Stimulus" in labels  # unrestricted: shown, no count
    (restricted,) = re.findall(r"class ([\w,]+) restricted", text)
    assert set(restricted.split(",")) == {n for lbl, n in labels.items() if "(" in lbl}


def test_dot_has_every_table_counts_and_marks(lab: dict[str, Any]) -> None:
    plain = dj.Diagram(lab["schema"]).make_dot()
    for name in CLASSES:
        assert f'label="{name}"' in plain
    style = {
        label: (shape, fill)
        for label, shape, fill in re.findall(
            r'label="([\w.]+)", shape=(\w+), style=filled, fillcolor="(#\w+)"', plain
        )
    }
    assert style["Subject"] == style["Trial"] == ("box", "#00FF0030")
    assert len({style[n] for n in ("Subject", "Stimulus", "Trial.Event")}) == 3
    d = dj.Diagram(lab["schema"]).cascade(lab["Subject"] & {"subject_id": 1})
    text = d.make_dot()
    assert 'label="Trial\\n3 rows"' in text and 'label="Subject\\n1 row"' in text
    assert text.count("penwidth=3") == 5
    assert "Stimulus" not in text  # a cascade keeps only the seed and its descendants


def test_part_of_part_labels(inst: dj.Instance, schema_name: str) -> None:
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
    labels = {label for label, _ in _mermaid_nodes(dj.Diagram(schema).make_mermaid()).values()}
    assert labels == {"Scan", "Scan.Field", "Scan.Field.Roi"}
    assert '"Scan.Field.Roi"' in dj.Diagram(schema).make_dot()


def test_labels_name_the_schema_when_several_are_shown(
    lab: dict[str, Any], inst: dj.Instance, schema_name: str
) -> None:
    other = dj.Schema(f"{schema_name}_x", connection=inst.connection)
    Subject = lab["Subject"]  # named by the definition below
    try:

        @other
        class Extra(dj.Computed):
            definition = """
            -> Subject
            """

        assert Subject is not None and Extra is not None
        text = (dj.Diagram(lab["schema"]) + dj.Diagram(other)).make_mermaid()
        assert f"{schema_name}_x.Extra" in text
        assert f"{schema_name}.Subject" in text
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
            d.make_svg()
    else:
        assert bundle["image/svg+xml"].lstrip().startswith(("<?xml", "<svg"))


@needs_dot
def test_svg(lab: dict[str, Any]) -> None:
    d = dj.Diagram(lab["schema"]).restrict(lab["Subject"] & {"species": "mouse"})
    svg = d.make_svg()
    assert "<svg" in svg and "Trial.Event" in svg and "3 rows" in svg
    assert d._repr_svg_() == svg


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
    with pytest.raises(dj.DataJointError, match="infer format"):
        trial.save(str(tmp_path / "d.unknown"))
