#!/usr/bin/env python3
"""Cross-check helper run ONLY by the interpreter of the reference ``datajoint`` (a separate,
test-only virtual environment; never imported by the project or by pytest itself).

    python reference_pipeline.py declare  --backend mysql --schema NAME [connection options]
    python reference_pipeline.py declare-types --backend mysql --schema NAME [--child-schema C]
    python reference_pipeline.py describe --backend mysql --schema NAME [--cascade TABLE JSON]
    python reference_pipeline.py drop     --backend mysql --schema NAME

Connection options: --host --port --user (defaults 127.0.0.1, the backend's port, root/postgres);
the password comes from --password or the environment variable DJREF_PASS (default empty).

``declare`` declares the pipeline of tests/integration/test_reference_compat.py with the reference
package and fills every table; ``declare-types`` declares a zoo of every core type, default and
foreign-key option (``--child-schema``: plus a table in a second schema).
``describe`` loads an existing schema with the reference (``dj.VirtualModule``) and prints one
JSON document: per table its heading, primary key, foreign keys, indexes and rows; with
``--cascade subject '{"subject_id": 1}'`` also the counts of the reference's cascade preview,
with ``--restrict subject '{"species": "mouse"}'`` those of ``Diagram(schema).restrict(...)``.

Reference 2.3.5 cannot write uuid values on PostgreSQL (it sends ``uuid.bytes`` to a ``uuid``
column), so on PostgreSQL rows of tables with uuid columns are inserted with plain SQL through
the reference's own connection. Everything else goes through the reference's ``insert``.
"""

from __future__ import annotations

import argparse
import datetime
import decimal
import json
import os
import sys
import uuid
from typing import Any

os.environ.setdefault("DJ_IGNORE_CONFIG_FILE", "true")  # no stray datajoint.json
import datajoint as dj

DEVICE_IDS = [
    uuid.UUID("00000000-0000-4000-8000-000000000001"),
    uuid.UUID("00000000-0000-4000-8000-000000000002"),
]
RIG_TOKEN = uuid.UUID("00000000-0000-4000-8000-0000000000aa")


def connect(args: argparse.Namespace) -> Any:
    default_user = "root" if args.backend == "mysql" else "postgres"
    kwargs: dict[str, Any] = {}
    if args.port:
        kwargs["port"] = int(args.port)
    inst = dj.Instance(
        host=args.host,
        user=args.user or default_user,
        password=args.password if args.password is not None else os.environ.get("DJREF_PASS", ""),
        backend=args.backend,
        use_tls=False,
        **kwargs,
    )
    inst.config.safemode = False
    return inst


# --------------------------------------------------------------------------------------------
# declare


def declare(inst: Any, schema_name: str) -> dict[str, Any]:
    schema = inst.Schema(schema_name)

    @schema
    class Subject(dj.Manual):
        definition = """
        # experimental subject
        subject_id : int32              # subject number
        ---
        species : varchar(32)           # species name
        sex = "U" : enum('F','M','U')   # sex
        date_of_birth = null : date
        active = 1 : bool               # still in the study
        """

    @schema
    class Session(dj.Manual):
        definition = """
        -> Subject
        session_id : int32
        ---
        session_date : date             # date of session
        session_start : datetime(3)
        weight = null : decimal(8,3)    # grams
        index(session_date)
        """

    @schema
    class Stimulus(dj.Lookup):
        definition = """
        stimulus_id : int32
        ---
        kind : enum('visual','audio')   # stimulus modality
        """
        contents = [(1, "visual"), (2, "audio")]

    @schema
    class Rig(dj.Lookup):
        definition = """
        rig : varchar(16)
        ---
        rig_token : uuid
        """

    @schema
    class Trial(dj.Manual):
        definition = """
        -> Session
        trial_id : int32
        ---
        -> Stimulus
        -> [nullable] Rig
        outcome = null : float64
        """

        class Event(dj.Part):
            definition = """
            -> master
            event_id : int32
            ---
            t : float64                 # event time (s)
            """

    @schema
    class Pairing(dj.Manual):
        definition = """
        -> Subject.proj(subj_a='subject_id')
        -> Subject.proj(subj_b='subject_id')
        ---
        note = "" : varchar(64)
        """

    @schema
    class Device(dj.Manual):
        definition = """
        device_id : uuid
        ---
        serial : varchar(32)
        unique index(serial)
        """

    @schema
    class Implant(dj.Manual):
        definition = """
        -> Subject
        ---
        -> [unique] Device
        """

    @schema
    class Recording(dj.Imported):
        definition = """
        # raw recording of a session
        -> Session
        ---
        raw : bytes
        meta : json
        n_samples : int32
        """

    @schema
    class Analysis(dj.Computed):
        definition = """
        # analysis of one trial
        -> Trial
        ---
        run_id : uuid                   # run identifier
        params : json                   # parameters
        score : decimal(8,3)            # score
        finished : datetime(3)          # completion time
        passed : bool
        note = null : varchar(255)      # optional note
        """

    Analysis.jobs  # noqa: B018 -- declares the hidden job table ~~analysis
    return dict(
        schema=schema,
        Subject=Subject,
        Session=Session,
        Stimulus=Stimulus,
        Rig=Rig,
        Trial=Trial,
        Pairing=Pairing,
        Device=Device,
        Implant=Implant,
        Recording=Recording,
        Analysis=Analysis,
    )


def insert(inst: Any, table: Any, rows: list[dict[str, Any]], **kwargs: Any) -> None:
    """Insert through the reference, or with plain SQL where it cannot (uuid on PostgreSQL)."""
    # FK-inherited uuid columns carry no :uuid: marker on PostgreSQL: check the SQL type too
    has_uuid = any(a.uuid or a.type == "uuid" for a in table.heading.attributes.values())
    if not (has_uuid and inst.connection.adapter.backend == "postgresql"):
        for row in rows:  # one by one: the reference wants the same fields in every row
            table.insert1(row, **kwargs)
        return
    for row in rows:
        cols = ", ".join('"' + c + '"' for c in row)
        values = [
            json.dumps(v)
            if table.heading.attributes[c].json
            else str(v)
            if isinstance(v, uuid.UUID)
            else v
            for c, v in row.items()
        ]
        inst.connection.query(
            f"INSERT INTO {table.full_table_name} ({cols}) VALUES ({', '.join(['%s'] * len(row))})",
            args=values,
        )


def fill(inst: Any, t: dict[str, Any]) -> None:
    insert(
        inst,
        t["Subject"],
        [
            dict(subject_id=1, species="mouse", sex="F", date_of_birth=datetime.date(2023, 5, 1)),
            dict(subject_id=2, species="mouse", sex="M", active=False),
            dict(subject_id=3, species="rat"),
        ],
    )
    insert(
        inst,
        t["Session"],
        [
            dict(
                subject_id=1,
                session_id=1,
                session_date=datetime.date(2024, 1, 1),
                session_start=datetime.datetime(2024, 1, 1, 9, 30, 0, 125000),
                weight=decimal.Decimal("21.500"),
            ),
            dict(
                subject_id=1,
                session_id=2,
                session_date=datetime.date(2024, 2, 1),
                session_start=datetime.datetime(2024, 2, 1, 10, 0),
            ),
            dict(
                subject_id=2,
                session_id=1,
                session_date=datetime.date(2024, 3, 1),
                session_start=datetime.datetime(2024, 3, 1, 11, 15, 30, 500000),
                weight=decimal.Decimal("19.125"),
            ),
        ],
    )
    insert(inst, t["Rig"], [dict(rig="rig-a", rig_token=RIG_TOKEN)])
    insert(
        inst,
        t["Trial"],
        [
            dict(subject_id=1, session_id=1, trial_id=1, stimulus_id=1, rig="rig-a", outcome=0.5),
            dict(subject_id=1, session_id=1, trial_id=2, stimulus_id=2, outcome=0.75),
            dict(subject_id=1, session_id=2, trial_id=1, stimulus_id=1, rig="rig-a"),
            dict(subject_id=2, session_id=1, trial_id=1, stimulus_id=2, outcome=0.125),
        ],
    )
    insert(
        inst,
        t["Trial"].Event,
        [
            dict(subject_id=1, session_id=1, trial_id=1, event_id=1, t=0.25),
            dict(subject_id=1, session_id=1, trial_id=1, event_id=2, t=0.5),
            dict(subject_id=2, session_id=1, trial_id=1, event_id=1, t=1.5),
        ],
    )
    insert(
        inst,
        t["Pairing"],
        [dict(subj_a=1, subj_b=2, note="cage mates"), dict(subj_a=2, subj_b=3)],
    )
    insert(
        inst,
        t["Device"],
        [
            dict(device_id=DEVICE_IDS[0], serial="SN-1"),
            dict(device_id=DEVICE_IDS[1], serial="SN-2"),
        ],
    )
    insert(
        inst,
        t["Implant"],
        [dict(subject_id=1, device_id=DEVICE_IDS[0]), dict(subject_id=2, device_id=DEVICE_IDS[1])],
    )
    insert(
        inst,
        t["Recording"],
        [
            dict(subject_id=1, session_id=1, raw=b"\x00\x01\xff", meta={"fs": 30000}, n_samples=3),
            dict(subject_id=2, session_id=1, raw=b"", meta={"fs": 1000, "ch": [1, 2]}, n_samples=0),
        ],
        allow_direct_insert=True,
    )
    insert(
        inst,
        t["Analysis"],
        [
            dict(
                subject_id=1,
                session_id=1,
                trial_id=1,
                run_id=uuid.UUID("00000000-0000-4000-8000-0000000000b1"),
                params={"alpha": 1, "tags": ["a", "b"]},
                score=decimal.Decimal("12.345"),
                finished=datetime.datetime(2024, 1, 2, 3, 4, 5, 678000),
                passed=True,
            ),
            dict(
                subject_id=2,
                session_id=1,
                trial_id=1,
                run_id=uuid.UUID("00000000-0000-4000-8000-0000000000b2"),
                params={},
                score=decimal.Decimal("-0.500"),
                finished=datetime.datetime(2024, 3, 2, 0, 0, 0),
                passed=False,
                note="redo",
            ),
        ],
        allow_direct_insert=True,
    )


def declare_types(inst: Any, schema_name: str, child_schema: str | None) -> list[str]:
    """Every core type, defaults, nullables, native types, FK options, a singleton table, and
    (in ``child_schema``) a table whose inherited key columns are bool / int8."""
    schema = inst.Schema(schema_name)
    mysql = inst.connection.adapter.backend == "mysql"

    @schema
    class Color(dj.Lookup):
        definition = """
        color : enum('red','green','blue')   # color name
        """
        contents = [("red",), ("green",)]

    @schema
    class Token(dj.Manual):
        definition = """
        token : uuid   # token id
        """

    @schema
    class Zoo(dj.Manual):
        definition = (
            """
        # all core types; it's a zoo
        zoo_id : int64
        ---
        a_int8 : int8
        a_int16 : int16
        a_int32 : int32
        a_int64 : int64
        a_f32 : float32
        a_f64 : float64
        a_bool : bool
        a_dec : decimal(10,2)
        a_char : char(4)
        a_vc : varchar(100)
        a_date : date
        a_dt : datetime
        a_dt3 : datetime(3)
        a_uuid : uuid
        a_json : json
        a_bytes : bytes
        a_enum : enum('x','y','z')
        a_blob : <blob>
        d_int = 7 : int32              # int default
        d_f = 1.5 : float64
        d_bool = 1 : bool
        d_str = "abc" : varchar(10)   # dq default
        d_str2 = 'it''s' : varchar(10)
        d_enum = 'y' : enum('x','y','z')
        d_date = "2024-01-01" : date
        d_ts = CURRENT_TIMESTAMP : datetime
        d_ts3 = CURRENT_TIMESTAMP(3) : datetime(3)
        n_int = null : int32        # nullable int
        n_blob = null : <blob>
        n_json = null : json
        n_vc = null : varchar(20)
        native_ts = CURRENT_TIMESTAMP : timestamp
        native_text = null : text
        """
            + ("        native_int : int unsigned\n" if mysql else "")
            + """
        note = "" : varchar(64)  # has "quotes" in comment
        """
        )

    @schema
    class Linked(dj.Manual):
        definition = """
        linked_id : int32
        ---
        -> [nullable] Color
        -> [unique] Token
        -> [nullable, unique] Zoo.proj(other_zoo='zoo_id')
        x : int32
        y : int32
        index(x, y)
        unique index(y)
        """

    @schema
    class ColorPair(dj.Manual):
        definition = """
        -> Color
        -> Color.proj(color2='color')
        """

    @schema
    class Single(dj.Manual):
        definition = """
        # singleton
        ---
        value : int32
        """

    @schema
    class Ingested(dj.Imported):
        definition = """
        -> Zoo
        ---
        val : float32
        """

    @schema
    class Level(dj.Lookup):
        definition = """
        level : int8
        on : bool
        ---
        label : varchar(16)
        """
        contents = [(1, True, "one-on")]

    ColorPair.insert1(("red", "green"))
    names = schema.list_tables()
    if child_schema:
        child = inst.Schema(child_schema, context={"Level": Level})

        @child
        class LevelUse(dj.Manual):
            definition = """
            -> Level
            use_id : int32
            """

        LevelUse.insert1((1, True, 7))
        names += [f"{child_schema}.{n}" for n in child.list_tables()]
    return sorted(names)


# --------------------------------------------------------------------------------------------
# describe


def plain(value: Any) -> Any:
    """A JSON-safe form of a fetched value."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if hasattr(value, "item") and not isinstance(value, (bytes, bytearray)):  # numpy scalars
        return plain(value.item())
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "hex:" + bytes(value).hex()
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return repr(value)


def describe_table(table: Any) -> dict[str, Any]:
    heading = table.heading
    attributes = []
    for attr in heading.attributes.values():
        attributes.append(
            dict(
                name=attr.name,
                sql_type=attr.type,
                original_type=attr.original_type,
                codec=None if attr.codec is None else attr.codec.name,
                in_key=attr.in_key,
                nullable=attr.nullable,
                default=attr.default,
                comment=attr.comment,
                uuid=attr.uuid,
                json=bool(attr.json),
                is_blob=attr.is_blob,
            )
        )
    parents = []
    for name, props in table.parents(foreign_key_info=True):
        parents.append(
            dict(parent=name, attr_map=dict(props["attr_map"]), primary=props["primary"])
        )
    result: dict[str, Any] = dict(
        table_name=table.table_name,
        full_table_name=table.full_table_name,
        comment=heading.table_status.get("comment") or "",
        attributes=attributes,
        primary_key=list(heading.primary_key),
        parents=parents,
        indexes=[
            dict(columns=list(cols), unique=bool(info["unique"]))
            for cols, info in heading.indexes.items()
        ],
    )
    try:
        rows = table.to_dicts(order_by=list(heading.primary_key))
        result["rows"] = [plain(r) for r in rows]
        result["count"] = len(table)
    except Exception as err:  # report, do not hide: the test decides
        result["fetch_error"] = f"{type(err).__name__}: {str(err).splitlines()[0]}"
    return result


def describe(
    inst: Any, schema_name: str, cascade: list[str] | None, restrict: list[str] | None
) -> dict[str, Any]:
    module = dj.VirtualModule("described", schema_name, connection=inst.connection)
    classes: dict[str, Any] = {}
    for name, cls in vars(module).items():
        if isinstance(cls, type) and issubclass(cls, dj.Table):
            classes[name] = cls
            for part_name, part in vars(cls).items():
                if isinstance(part, type) and issubclass(part, dj.Part) and part_name != "master":
                    classes[f"{name}.{part_name}"] = part
    tables = {}
    for class_name, cls in sorted(classes.items()):
        info = describe_table(cls())
        info["class_name"] = class_name
        info["tier"] = next(
            t.__name__
            for t in (dj.Part, dj.Lookup, dj.Manual, dj.Imported, dj.Computed)
            if issubclass(cls, t)
        )
        tables[info["table_name"]] = info
    joins = {}
    by_name = {c.full_table_name: c for c in classes.values()}
    for child in classes.values():
        for parent_name in child.parents():
            if parent_name in by_name:  # join each table with its parents (namesakes)
                key = f"{by_name[parent_name].table_name}*{child.table_name}"
                try:
                    joins[key] = len(by_name[parent_name] * child)
                except Exception as err:
                    joins[key] = f"{type(err).__name__}: {str(err).splitlines()[0]}"
    out: dict[str, Any] = dict(
        schema=schema_name,
        list_tables=sorted(module.schema.list_tables()),
        tables=tables,
        join_counts=joins,
    )

    def seed(spec: list[str]) -> Any:
        table = next(c for c in classes.values() if c.table_name == spec[0])
        return table & json.loads(spec[1])

    def bare(counts: dict[str, int]) -> dict[str, int]:
        # keys are quoted full table names: keep the bare table name
        return {k.split(".")[-1].strip('`"'): v for k, v in counts.items()}

    if cascade:
        out["cascade_counts"] = bare(dj.Diagram.cascade(seed(cascade)).counts())
    if restrict:
        out["restrict_counts"] = bare(dj.Diagram(module.schema).restrict(seed(restrict)).counts())
    return out


# --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("action", choices=["declare", "declare-types", "describe", "drop"])
    p.add_argument("--child-schema")
    p.add_argument("--backend", required=True, choices=["mysql", "postgresql"])
    p.add_argument("--schema", required=True)
    p.add_argument("--host", default=os.environ.get("DJREF_HOST", "127.0.0.1"))
    p.add_argument("--port", default=os.environ.get("DJREF_PORT"))
    p.add_argument("--user", default=os.environ.get("DJREF_USER"))
    p.add_argument("--password", default=None)
    p.add_argument("--cascade", nargs=2, metavar=("TABLE", "KEY_JSON"))
    p.add_argument("--restrict", nargs=2, metavar=("TABLE", "KEY_JSON"))
    args = p.parse_args(argv)
    # The reference logs to stdout: keep stdout for the one JSON line this script prints.
    sys.stdout.flush()
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    inst = connect(args)
    try:
        if args.action == "drop":
            inst.Schema(args.schema, create_schema=False).drop(prompt=False)
        elif args.action == "declare-types":
            names = declare_types(inst, args.schema, args.child_schema)
            print(json.dumps(dict(declared=names)), file=out)
        elif args.action == "declare":
            tables = declare(inst, args.schema)
            fill(inst, tables)
            print(json.dumps(dict(declared=sorted(tables["schema"].list_tables()))), file=out)
        else:
            print(
                json.dumps(
                    describe(inst, args.schema, args.cascade, args.restrict), sort_keys=True
                ),
                file=out,
            )
    finally:
        inst.connection.close()
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
