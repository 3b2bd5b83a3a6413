"""One battery of queries, fetches and inserts, run by the reference ``datajoint`` and by
``datajoint_core`` on the same pipeline; tests/integration/test_algebra_reference.py compares.

Imported by both interpreters, so it imports neither package: ``declare(dj, schema)`` gets the
module as an argument. Each case is a Python expression evaluated with the tables, ``dj``,
``np`` and the helpers below in scope; its result is made JSON-safe by :func:`plain`, an
exception becomes ``{"error": [the builtin kinds it is an instance of]}``.
"""

from __future__ import annotations

import datetime
import decimal
import uuid
import warnings
from collections.abc import Callable
from typing import Any

KINDS = ("DataJointError", "KeyError", "ValueError", "TypeError")


def declare(dj: Any, schema: Any, auto_increment: bool = True) -> dict[str, Any]:
    """The pipeline, declared with ``dj`` in ``schema``; the table classes by name.

    ``auto_increment=False`` leaves out the tables with an auto_increment key (the reference
    cannot declare one on PostgreSQL); the cases that use them then report ``absent``.
    """

    class Subject(dj.Manual):
        definition = """
        subject_id : int32
        ---
        species : varchar(32)
        weight = null : float64
        """

    class Session(dj.Manual):
        definition = """
        -> Subject
        session_id : int32
        ---
        session_date : date
        """

    class Stimulus(dj.Lookup):
        definition = """
        stimulus_id : int32
        ---
        kind : varchar(16)
        """

    class Trial(dj.Manual):
        definition = """
        -> Session
        trial_id : int32
        ---
        -> Stimulus
        outcome = null : int32
        """

    class Other(dj.Manual):
        definition = """
        other_id : int32
        ---
        subject_id = null : int32   # a namesake with no foreign key: no lineage
        """

    class Owner(dj.Manual):
        definition = """
        owner_id : int32
        ---
        -> [nullable] Subject
        """

    class Person(dj.Manual):
        definition = """
        person_id : int32
        ---
        name : varchar(16)
        age = null : int32
        """

    class AutoThing(dj.Manual):
        definition = """
        thing_id : int auto_increment
        ---
        label : varchar(16)
        """

    class Defaults(dj.Manual):
        definition = """
        id : int auto_increment
        ---
        made = CURRENT_TIMESTAMP : datetime
        note = null : varchar(20)
        """

    class Uniq(dj.Manual):
        definition = """
        uid : int32
        ---
        email : varchar(32)
        unique index (email)
        """

    classes = [Subject, Session, Stimulus, Trial, Other, Owner, Person, Uniq]
    if auto_increment:
        classes += [AutoThing, Defaults]
    context = {cls.__name__: cls for cls in classes}
    return {cls.__name__: schema(cls, context=context) for cls in classes}


def fill(t: dict[str, Any]) -> None:
    t["Subject"].insert(
        [
            {"subject_id": 1, "species": "mouse", "weight": 20.5},
            {"subject_id": 2, "species": "mouse", "weight": None},
            {"subject_id": 3, "species": "rat", "weight": 310.0},
        ]
    )
    t["Session"].insert(
        [
            {"subject_id": 1, "session_id": 1, "session_date": "2024-01-01"},
            {"subject_id": 1, "session_id": 2, "session_date": "2024-02-01"},
            {"subject_id": 2, "session_id": 1, "session_date": "2024-03-01"},
        ]
    )
    t["Stimulus"].insert(
        [{"stimulus_id": 1, "kind": "visual"}, {"stimulus_id": 2, "kind": "audio"}]
    )
    t["Trial"].insert(
        [
            {"subject_id": 1, "session_id": 1, "trial_id": 1, "stimulus_id": 1, "outcome": 1},
            {"subject_id": 1, "session_id": 1, "trial_id": 2, "stimulus_id": 2, "outcome": None},
            {"subject_id": 2, "session_id": 1, "trial_id": 1, "stimulus_id": 1, "outcome": 0},
        ]
    )
    t["Other"].insert([{"other_id": 1, "subject_id": 1}, {"other_id": 2, "subject_id": None}])
    t["Owner"].insert([{"owner_id": 1, "subject_id": 2}, {"owner_id": 2, "subject_id": None}])


# -- helpers in the cases' scope ------------------------------------------------------------------


def rows(expr: Any) -> list[Any]:
    """The rows, in an order of their own (most queries promise none)."""
    return sorted((plain(r) for r in expr.to_dicts()), key=repr)


def warns(action: Callable[[], Any]) -> bool:
    """Whether ``action`` emits a DeprecationWarning."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        action()
    return any(issubclass(w.category, DeprecationWarning) for w in caught)


def frame(df: Any) -> dict[str, Any]:
    return {
        "index": list(df.index.names),
        "columns": list(df.columns),
        "rows": plain(df.reset_index().to_dict("records")),
    }


def heading_lines(heading: Any) -> list[str]:
    """The names (and ``---``) of a heading's repr, one per line."""
    return [line.split(":")[0].split("=")[0].strip() for line in repr(heading).splitlines()]


def plain(value: Any) -> Any:
    """A JSON-safe form of a result."""
    if isinstance(value, float) and value != value:
        return "NaN"  # equal to itself, unlike nan
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if type(value).__name__ == "ndarray":
        names = value.dtype.names
        if names:
            return {"names": list(names), "rows": plain(value.tolist())}
        return {"kind": value.dtype.kind, "values": plain(value.tolist())}
    if type(value).__name__ == "void" and value.dtype.names:
        return {name: plain(value[name]) for name in value.dtype.names}
    if hasattr(value, "item") and not isinstance(value, (bytes, bytearray)):  # numpy scalars
        return plain(value.item())
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "hex:" + bytes(value).hex()
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if type(value).__name__ == "DataFrame":
        return frame(value)
    return repr(value)


def run(cases: list[tuple[str, str]], scope: dict[str, Any]) -> dict[str, Any]:
    """Each case's result (or the kinds of the exception it raised)."""
    results: dict[str, Any] = {}
    for name, code in cases:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                results[name] = {"value": plain(eval(code, scope))}
        except NameError:
            results[name] = {"absent": True}  # a table this side could not declare
        except Exception as err:
            kinds = sorted({c.__name__ for c in type(err).__mro__} & set(KINDS))
            results[name] = {"error": kinds, "message": str(err)[:300]}
    return results


def scope(dj: Any, np: Any, pd: Any, tables: dict[str, Any]) -> dict[str, Any]:
    """The names the cases see: the packages, the helpers and an instance of every table."""
    return {
        "dj": dj,
        "np": np,
        "pd": pd,
        "rows": rows,
        "warns": warns,
        "frame": frame,
        "heading_lines": heading_lines,
        **{name: table() for name, table in tables.items()},
    }


# -- the cases ------------------------------------------------------------------------------------

# read-only: they may also run on a pipeline the other package declared
QUERIES: list[tuple[str, str]] = [
    # restrictions
    ("dict", 'rows(Subject & {"species": "mouse"})'),
    ("dict naming no attribute", 'len(Subject & {"nope": 1})'),
    ("empty dict", "[len(Subject & {}), len(Subject - {})]"),
    ("OR list", "rows(Subject & [{'subject_id': 1}, \"species = 'rat'\"])"),
    ("empty lists", "[len(Subject & []), len(Subject - []), len(Subject & [[]])]"),
    ("AndList", "rows(Subject & dj.AndList([{'species': 'mouse'}, 'subject_id > 1']))"),
    ("empty AndList", "[len(Subject & dj.AndList([])), len(Subject - dj.AndList([]))]"),
    ("Not", "rows(Subject & dj.Not({'species': 'mouse'}))"),
    ("booleans", "[len(Subject & True), len(Subject & False), len(Subject - True)]"),
    ("string", "rows(Session & \"session_date > '2024-01-15'\")"),
    ("BETWEEN", "len(Session & \"session_date BETWEEN '2024-01-01' AND '2024-02-15'\")"),
    ("LIKE", "len(Subject & \"species LIKE 'mo%'\")"),
    ("IN list", 'len(Subject & "subject_id IN (1, 3)")'),
    ("IS NULL", 'len(Subject & "weight IS NULL")'),
    ("ILIKE", "len(Subject & \"species ILIKE 'MOUSE'\")"),
    ("the seed's double-quoted literal", "len(Session & 'session_date > \"2024-01-15\"')"),
    ("a :: cast", "len(Session & \"session_date > '2024-01-15'::date\")"),
    (
        "a PostgreSQL interval",
        "len(Session & \"session_date > DATE '2024-03-01' - INTERVAL '45 days'\")",
    ),
    ("unknown attribute in a string", 'len(Subject & "nope = 1")'),
    ("syntax error", 'len(Subject & "subject_id = = 1")'),
    ("restrict by an int", "Subject & 3"),
    ("restrict by None", "Subject & None"),
    ("numpy record", "rows(Subject & Subject.to_arrays()[0])"),
    ("record array", 'len(Session & (Session & "session_id = 1").to_arrays())'),
    ("DataFrame", "len(Session & Subject.to_pandas())"),
    ("semijoin", "[rows(Subject & Session), rows(Subject - Session)]"),
    ("semijoin of a restriction", 'rows(Subject & (Session & "session_id = 2"))'),
    (
        "no common attribute",
        "[len(Stimulus & Subject), len(Stimulus & (Subject & {'subject_id': 9}))]",
    ),
    ("unrelated namesake refused", "Subject & Other"),
    ("unrelated namesake allowed", "rows(Subject.restrict(Other, semantic_check=False))"),
    ("semijoin through a nullable foreign key", "rows(Subject & Owner)"),
    ("antijoin through a nullable foreign key", "rows(Subject - Owner)"),
    ("U restriction", 'rows(dj.U("species") & Subject)'),
    ("U aggregation", 'rows(dj.U("species").aggr(Subject, n="count(*)"))'),
    ("U total", 'dj.U().aggr(Session, n="count(*)").fetch1("n")'),
    ("U times table", 'dj.U("species") * Subject'),
    ("table times U", 'Subject * dj.U("species")'),
    ("U minus table", 'dj.U("species") - Subject'),
    ("U and a dict", 'dj.U("species") & {"species": "rat"}'),
    ("table and U", '[len(Subject & dj.U("species")), (Subject & dj.U("x")).heading.names]'),
    # join
    ("join", "rows(Subject * Session)"),
    ("join heading", "[(Subject * Session).heading.names, (Subject * Session).primary_key]"),
    (
        "join heading reversed",
        "[(Session * Subject).heading.names, (Session * Subject).primary_key]",
    ),
    ("join by a secondary foreign key", "[(Trial * Stimulus).primary_key, len(Trial * Stimulus)]"),
    ("cross join", "[len(Subject * Stimulus), (Subject * Stimulus).primary_key]"),
    ("join refused", "Subject * Other"),
    ("join allowed", "len(Subject.join(Other, semantic_check=False))"),
    ("@ removed", "Subject @ Session"),
    ("^ removed", "Subject ^ Session"),
    # projection
    ("rename", 'rows(Subject.proj(kind="species"))'),
    (
        "rename a key",
        '[Session.proj(a="subject_id").primary_key, Session.proj(a="subject_id").heading.names]',
    ),
    ("copy", 'Session.proj(a="(subject_id)").heading.names'),
    ("compute", 'rows(Session.proj(next="session_id + 1"))'),
    ("exclude", 'Trial.proj(..., "-outcome").heading.names'),
    ("exclude a key", 'Session.proj(..., "-subject_id")'),
    ("unknown in proj", 'Subject.proj("nope")'),
    (
        "lineage",
        '[Session.heading["subject_id"].lineage is not None, '
        'Session.heading["session_date"].lineage,'
        ' Session.proj(s="subject_id").heading["s"].lineage'
        ' == Session.heading["subject_id"].lineage,'
        ' Session.proj(x="session_id * 2").heading["x"].lineage]',
    ),
    # aggregation
    ("aggr keeps every row", 'rows(Subject.aggr(Session, n="count(*)"))'),
    ("aggr counts a column", 'rows(Subject.aggr(Session, n="count(session_id)"))'),
    (
        "aggr of matching rows",
        'rows(Subject.aggr(Session, n="count(*)", exclude_nonmatching=True))',
    ),
    ("aggr with attributes", 'rows(Subject.aggr(Session, "species", last="max(session_date)"))'),
    ("aggr restricted", 'rows(Subject.aggr(Session, n="count(session_id)") & "n > 1")'),
    ("aggr the wrong way", 'Session.aggr(Subject, n="count(*)")'),
    # union
    ("union", "rows((Subject & {'subject_id': 1}).proj() + (Subject & {'subject_id': 3}).proj())"),
    ("union sharing a secondary attribute", "(Subject & 'subject_id = 1') + Subject"),
    ("union of other keys", "Subject + Session"),
    (
        "outer union",
        "rows((Subject & 'subject_id < 3').proj(a='species')"
        " + (Subject & 'subject_id > 1').proj(b='species'))",
    ),
    # dj.Top
    ("Top", '(Subject & dj.Top(2, "subject_id DESC")).to_dicts()'),
    (
        "Top merged",
        '(Subject & dj.Top(3, "subject_id DESC") & dj.Top(2, order_by=None, offset=1)).to_dicts()',
    ),
    (
        "Top reordered",
        '(Subject & dj.Top(3, "subject_id DESC") & dj.Top(1, "subject_id")).to_dicts()',
    ),
    ("Top restricted", "rows((Subject & dj.Top(2)) & {'species': 'mouse'})"),
    ("Top types", '[str(dj.Top(order_by="a").order_by), dj.Top(limit="1")]'),
    ("Top in a list", 'Subject & ["subject_id = 1", dj.Top()]'),
    # fetching
    ("to_dicts window", 'Session.to_dicts(order_by="session_date DESC", limit=2, offset=1)'),
    ("to_arrays of one", 'Subject.to_arrays("species", order_by="KEY")'),
    ("to_arrays of two", 'Subject.to_arrays("species", "weight", order_by="KEY")'),
    ("to_arrays with keys", 'Subject.to_arrays("species", include_key=True, order_by="KEY")'),
    ("to_arrays of all", 'Subject.to_arrays(order_by="KEY")["species"]'),
    ("keys by a secondary attribute", 'Subject.keys(order_by=["species DESC", "subject_id"])'),
    ("head and tail", "[Subject.head(2), Subject.tail(2)]"),
    ("fetch1", '(Subject & {"subject_id": 3}).fetch1()'),
    ("fetch1 of attributes", '(Subject & {"subject_id": 3}).fetch1("species", "KEY")'),
    ("fetch1 of many", "Subject.fetch1()"),
    ("fetch KEY", 'Subject.fetch("KEY", order_by="KEY")'),
    ("fetch as_dict", 'Subject.fetch(as_dict=True, order_by="KEY")'),
    ("fetch attributes", 'Subject.fetch("species", order_by="KEY")'),
    ("fetch KEY and an attribute", 'Subject.fetch("KEY", "species", order_by="KEY")'),
    ("fetch a frame", 'Subject.fetch(format="frame", order_by="KEY")'),
    ("fetch a frame of attributes", 'Subject.fetch("species", format="frame")'),
    ("fetch warns", "[warns(lambda: Subject.fetch()), warns(lambda: Subject.to_dicts())]"),
    ("to_pandas", 'Session.to_pandas(order_by="KEY")'),
    (
        "len, bool, in",
        '[len(Subject), bool(Subject & {"subject_id": 9}), {"subject_id": 1} in Subject]',
    ),
    ("heading repr", "heading_lines(Trial.heading)"),
    (
        "heading iteration",
        "[list(Trial.heading), list((Session * Trial).proj().heading), 'trial_id' in Trial.heading,"
        " len(Trial.heading)]",
    ),
    (
        "proj ellipsis less one",
        'sorted(set(Session.heading).difference(Session.proj(..., "-session_date").head(1)[0]))',
    ),
]

# inserts, on the tables no query reads, in this order
INSERTS: list[tuple[str, str]] = [
    (
        "auto_increment left out",
        'AutoThing.insert1({"label": "a"}) or AutoThing.insert([{"label": "b"}]) or '
        "rows(AutoThing)",
    ),
    (
        "rows of defaults",
        "Defaults.insert1({}) or Defaults.insert([{}, {}]) or [len(Defaults), "
        'sorted(Defaults.to_arrays("id").tolist()), len(Defaults & "made IS NULL")]',
    ),
    ("an empty row", "Person.insert1({})"),
    ("an unknown field", 'Person.insert1({"person_id": 1, "name": "a", "foo": 1})'),
    (
        "ignore_extra_fields",
        'Person.insert1({"person_id": 1, "name": "a", "foo": 1}, ignore_extra_fields=True) or '
        "rows(Person)",
    ),
    ("a missing field", 'Person.insert1({"person_id": 2})'),
    ("not a number", 'Person.insert1({"person_id": "abc", "name": "x"})'),
    ("a row of the wrong length", "Person.insert1((3,))"),
    ("not a row", "Person.insert1(3)"),
    (
        "positional rows warn",
        '[warns(lambda: Person.insert1((4, "d", None))), '
        'warns(lambda: Person.insert1({"person_id": 5, "name": "e"}))]',
    ),
    (
        "chunk_size",
        'Person.insert([{"person_id": 10 + i, "name": "p"} for i in range(5)], '
        "chunk_size=2) or len(Person)",
    ),
    ("chunk_size of a query", "Person.insert(Person.proj(), chunk_size=2)"),
    (
        "insert_dataframe",
        'Person.insert_dataframe(pd.DataFrame({"person_id": [30, 31], "name": ["x", '
        '"y"]}).set_index("person_id")) or rows(Person & "person_id >= 30")',
    ),
    ("insert_dataframe of no frame", "Person.insert_dataframe([])"),
    (
        "validate",
        '[bool(Person.validate([{"name": "x"}])), '
        '[e[1] for e in Person.validate([{"name": "x"}]).errors], '
        'bool(Person.validate([{"person_id": 99, "name": "x"}]))]',
    ),
    (
        "update1",
        'Person.update1({"person_id": 1, "age": 30}) or Person.update1({"person_id": 4, '
        '"name": "dd"}) or rows(Person & "person_id < 5")',
    ),
    ("update1 of no row", 'Person.update1({"person_id": 99, "age": 1})'),
    (
        "skip_duplicates",
        'Uniq.insert1({"uid": 1, "email": "a"}) or Uniq.insert1({"uid": 1, "email": "b"}, '
        "skip_duplicates=True) or rows(Uniq)",
    ),
    (
        "skip_duplicates of another unique value",
        'Uniq.insert1({"uid": 2, "email": "a"}, skip_duplicates=True) or rows(Uniq)',
    ),
    ("a duplicate", 'Uniq.insert1({"uid": 1, "email": "z"})'),
]

# what the auto_increment cases give, where the reference cannot declare those tables
AUTO_INCREMENT = {
    "auto_increment left out": {
        "value": [{"thing_id": 1, "label": "a"}, {"thing_id": 2, "label": "b"}]
    },
    "rows of defaults": {"value": [3, [1, 2, 3], 0]},
}

# where datajoint_core deliberately differs: (case, backend or None for both) -> why
DIFFERENCES: dict[tuple[str, str | None], str] = {
    ("aggr with attributes", "mysql"): (
        "the reference groups by the key alone, which MariaDB refuses for the other attribute"
    ),
    ("the seed's double-quoted literal", "postgresql"): (
        "translated here (semantics: the seed's examples run verbatim); the reference sends it "
        "as written, and PostgreSQL reads an identifier"
    ),
    ("a :: cast", "postgresql"): "the reference takes `date` for an attribute name and refuses",
    ("antijoin through a nullable foreign key", None): (
        "the reference's NOT IN over a subquery holding NULL matches nothing; here a NULL "
        "foreign key matches no row, so the rows it does not reference stay (two-valued logic)"
    ),
}
