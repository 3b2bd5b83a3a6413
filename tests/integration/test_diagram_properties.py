"""Property tests on generated pipelines and data (both backends).

Each example declares a small pipeline (primary, secondary, nullable and renamed foreign keys,
diamonds) in a fresh schema, fills it with a few rows, and checks the library against a
row-by-row computation in Python:

- after any chain of restrict() calls, preview() and the rows of every restricted table equal
  the brute force, and every included child row references only included parent rows;
- after any cascade delete, exactly the brute-force rows are gone, no row anywhere references a
  deleted row, and the database's own foreign keys never refused a statement.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import datajoint_core as dj

from .builder import Row, brute_force, dangling, declare, fetch_rows, key_of, selected_rows

KINDS = ("primary", "secondary", "nullable", "renamed_primary", "renamed_secondary")
SETTINGS = settings(
    max_examples=int(os.environ.get("DJ_PROPERTY_EXAMPLES", "15")),  # more for a deep search
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_counter = itertools.count()


@dataclass
class Table:
    name: str
    key: list[str]  # primary key, in order
    secondary: list[str]
    fks: list[tuple[int, str, dict[str, str]]]  # (parent, kind, {child column: parent column})
    lines: list[str] = field(default_factory=list)


def _plan_table(i: int, tables: list[Table], parents: list[tuple[int, str]]) -> Table:
    """Table ``T{i}``: its foreign keys to ``parents``, its own key ``k{i}`` and ``v``."""
    key: list[str] = []
    secondary: list[str] = []
    head: list[str] = []
    tail: list[str] = []
    fks = []
    # key foreign keys first: all their attributes belong to the primary key
    for j, kind in sorted(
        parents, key=lambda p: (p[1] not in ("primary", "renamed_primary"), p[0])
    ):
        parent = tables[j]
        if kind.startswith("renamed"):
            amap = {f"f{i}_{j}_{c}": c for c in parent.key}
            args = ", ".join(f"{new}='{old}'" for new, old in amap.items())
            ref = f"T{j}.proj({args})"
        else:
            amap = {c: c for c in parent.key}
            ref = f"T{j}"
        taken = set(key) | set(secondary)
        if kind == "nullable" and taken & set(amap):
            kind = "secondary"  # a key attribute cannot be nullable
        in_key = kind in ("primary", "renamed_primary")
        (head if in_key else tail).append(f"-> {'[nullable] ' if kind == 'nullable' else ''}{ref}")
        for col in amap:
            if col not in taken:
                (key if in_key else secondary).append(col)
        fks.append((j, kind, amap))
    key.append(f"k{i}")
    secondary = [c for c in secondary if c not in key]
    lines = [*head, f"k{i} : int32", "---", *tail, "v : int32"]
    return Table(f"T{i}", key, [*secondary, "v"], fks, lines)


@st.composite
def pipelines(draw: st.DrawFn) -> list[Table]:
    tables: list[Table] = []
    for i in range(draw(st.integers(3, 5))):
        candidates = list(range(i))
        chosen = (
            draw(st.lists(st.sampled_from(candidates), min_size=1, max_size=2, unique=True))
            if i
            else []
        )
        parents = [(j, draw(st.sampled_from(KINDS))) for j in sorted(chosen)]
        tables.append(_plan_table(i, tables, parents))
    return tables


def _rows_for(data: st.DataObject, table: Table, parents: dict[int, list[Row]]) -> list[Row]:
    rows: dict[tuple[Any, ...], Row] = {}
    for _ in range(data.draw(st.integers(3, 8))):
        row: Row = {
            f"k{table.name[1:]}": data.draw(st.integers(0, 3)),
            "v": data.draw(st.integers(0, 2)),
        }
        ok = True
        for j, kind, amap in table.fks:
            fits = [
                p for p in parents[j] if all(row.get(c, p[pc]) == p[pc] for c, pc in amap.items())
            ]
            if kind == "nullable" and (not fits or data.draw(st.booleans())):
                row.update({c: None for c in amap})
                continue
            if not fits:
                ok = False
                break
            chosen = data.draw(st.sampled_from(fits))
            row.update({c: chosen[pc] for c, pc in amap.items()})
        key = tuple(row.get(c) for c in table.key)
        if ok and key not in rows:
            rows[key] = row
    return list(rows.values())


def _build(
    inst: dj.Instance, name: str, tables: list[Table], data: st.DataObject
) -> dict[str, Any]:
    schema = dj.Schema(name, connection=inst.connection)
    classes = declare(schema, [(t.name, "\n".join(t.lines)) for t in tables])
    rows: dict[int, list[Row]] = {}
    for i, table in enumerate(tables):
        rows[i] = _rows_for(data, table, rows)
        if rows[i]:
            classes[table.name].insert(rows[i])
    classes["schema"] = schema
    return classes


def _condition(
    data: st.DataObject, classes: dict[str, Any], table: Any, rows: dict[str, list[Row]], graph: Any
) -> tuple[Any, Any]:
    """A restriction of ``table`` and the same test as a Python predicate."""
    name = table().full_table_name
    own = f"k{table.__name__[1:]}"
    kind = data.draw(st.sampled_from(["dict", "string", "or", "top", "semijoin"]))
    x = data.draw(st.integers(1, 3))
    if kind == "dict":
        return table & {"v": x}, lambda r: r["v"] == x
    if kind == "string":
        return table & f"{own} < {x}", lambda r: r[own] < x
    if kind == "or":
        return table & [{own: x}, {"v": 0}], lambda r: r[own] == x or r["v"] == 0
    if kind == "top":
        ordered = sorted(rows[name], key=lambda r: key_of(graph, name, r))
        top = {key_of(graph, name, r) for r in ordered[:x]}
        return table & dj.Top(x), lambda r: key_of(graph, name, r) in top
    other = classes[data.draw(st.sampled_from(sorted(k for k in classes if k != "schema")))]
    other_name = other().full_table_name
    common = [c for c in graph.nodes[name]["attributes"] if c in other().primary_key]
    matches = {tuple(p[c] for c in common) for p in rows[other_name] if p["v"] == x}
    return table & (other & {"v": x}).proj(), lambda r: tuple(r[c] for c in common) in matches


def _with_pipeline(
    inst: dj.Instance, schema_name: str, tables: list[Table], data: Any, check: Any
) -> None:
    name = f"{schema_name}_{next(_counter)}"
    try:
        classes = _build(inst, name, tables, data)
        check(classes)
    finally:
        conn = inst.connection
        if conn.in_transaction:
            conn.cancel_transaction()
        conn.execute(conn.adapter.drop_schema_sql(name))


@SETTINGS
@given(tables=pipelines(), data=st.data())
def test_restrict_chains_are_referentially_complete(
    inst: dj.Instance, schema_name: str, tables: list[Table], data: st.DataObject
) -> None:
    def check(classes: dict[str, Any]) -> None:
        diagram = dj.Diagram(classes["schema"])
        graph = diagram.graph
        rows = fetch_rows(inst.connection, graph, list(graph.nodes))
        seeds: dict[str, list[Any]] = {}
        for _ in range(data.draw(st.integers(1, 3))):
            table = classes[data.draw(st.sampled_from([t.name for t in tables]))]
            node = table().full_table_name
            expr, predicate = _condition(data, classes, table, rows, graph)
            diagram = diagram.restrict(expr)
            seeds.setdefault(node, []).append(predicate)
        expected = brute_force(graph, rows, seeds, cascade=False)
        event(f"restricted tables with rows: {sum(bool(r) for r in expected.values())}")
        assert diagram.preview() == {n: len(r) for n, r in expected.items()}
        included = {n: selected_rows(diagram, n) for n in graph.nodes}
        for n, kept in expected.items():
            assert sorted(map(repr, included[n])) == sorted(map(repr, kept)), n
        assert dangling(graph, included) == []

    _with_pipeline(inst, schema_name, tables, data, check)


@SETTINGS
@given(tables=pipelines(), data=st.data())
def test_cascade_delete_leaves_no_dangling_rows(
    inst: dj.Instance, schema_name: str, tables: list[Table], data: st.DataObject
) -> None:
    def check(classes: dict[str, Any]) -> None:
        graph = dj.Diagram(classes["schema"]).graph
        before = fetch_rows(inst.connection, graph, list(graph.nodes))
        table = classes[data.draw(st.sampled_from([t.name for t in tables]))]
        node = table().full_table_name
        expr, predicate = _condition(data, classes, table, before, graph)
        marked = brute_force(graph, before, {node: [predicate]}, cascade=True)
        event(f"tables losing rows: {sum(bool(r) for r in marked.values())}")
        preview = dj.Diagram.cascade(expr).preview()
        assert preview == {n: len(r) for n, r in marked.items()}
        assert expr.delete(prompt=False) == len(marked[node])
        after = fetch_rows(inst.connection, graph, list(graph.nodes))
        for n, rows in before.items():
            gone = {repr(r) for r in marked.get(n, [])}
            assert sorted(map(repr, after[n])) == sorted(
                repr(r) for r in rows if repr(r) not in gone
            )
        assert dangling(graph, after) == []

    _with_pipeline(inst, schema_name, tables, data, check)


def test_generated_definitions_cover_every_kind() -> None:
    """The generator can produce each kind of foreign key, including a diamond."""
    a = _plan_table(0, [], [])
    b = _plan_table(1, [a], [(0, "primary")])
    c = _plan_table(2, [a, b], [(0, "renamed_secondary")])
    d = _plan_table(3, [a, b, c], [(1, "primary"), (2, "nullable")])
    e = _plan_table(4, [a, b, c, d], [(1, "secondary"), (3, "primary")])
    assert b.key == ["k0", "k1"] and "-> T0" in b.lines
    assert c.lines[0] == "k2 : int32" and "-> T0.proj(f2_0_k0='k0')" in c.lines
    assert "-> [nullable] T2" in d.lines
    assert e.key == ["k0", "k1", "k3", "k4"] and "-> T1" in e.lines[e.lines.index("---") :]
    assert [kind for _, kind, _ in d.fks] == ["primary", "nullable"]
