#!/usr/bin/env python3
"""One scenario of configuration, connection or schema behaviour, run with either package:

    python probe.py SCENARIO --package datajoint        (the reference's interpreter)
    python probe.py SCENARIO --package datajoint_core   (the project's interpreter)
    [--backend mysql --host 127.0.0.1 --port 3306 --user root --schema NAME]  (password: DJREF_PASS)

The same code runs on both sides and prints one JSON document (the last line of stdout), so a
test compares what the two packages do. An exception is recorded by the builtin and DataJoint
classes it is an instance of (``families``): the reference raises pydantic's ValidationError
where the project raises ConfigError, and both are ValueErrors.
Run by tests/integration/test_fidelity_config.py and test_fidelity_connection.py only.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import re
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

FAMILIES = (
    "ValueError",
    "KeyError",
    "AttributeError",
    "TypeError",
    "FileNotFoundError",
    "FileExistsError",
    "DataJointError",
    "ThreadSafetyError",
    "AccessError",
    "LostConnectionError",
    "DuplicateError",
)
CONFIG_KEYS = [
    "database.host",
    "database.user",
    "database.password",
    "database.backend",
    "database.port",
    "database.name",
    "database.reconnect",
    "database.use_tls",
    "database.database_prefix",
    "database.create_tables",
    "connection.charset",
    "display.limit",
    "display.width",
    "display.show_tuple_count",
    "display.diagram_direction",
    "display.diagram_theme",
    "jobs.auto_refresh",
    "jobs.keep_completed",
    "jobs.stale_timeout",
    "jobs.default_priority",
    "jobs.version_method",
    "jobs.allow_new_pk_fields_in_computed_tables",
    "jobs.add_job_metadata",
    "provenance.capture",
    "provenance.source",
    "stores",
    "loglevel",
    "safemode",
    "ignore_config_file",
    "query_cache",
    "download_path",
]


def plain(value: Any) -> Any:
    """A JSON-able form of a value."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def outcome(action: Callable[[], Any]) -> dict[str, Any]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return {"value": plain(action())}
    except Exception as err:
        names = {c.__name__ for c in type(err).__mro__}
        return {"error": sorted(n for n in FAMILIES if n in names), "message": str(err)}


def assign(target: Any, key: str, value: Any) -> Callable[[], Any]:
    def run() -> None:
        target[key] = value

    return run


def set_attr(target: Any, name: str, value: Any) -> Callable[[], Any]:
    return lambda: setattr(target, name, value)


# -- configuration (no server) -------------------------------------------------------------------


def s_values(dj: Any, args: argparse.Namespace) -> Any:
    """The settings as the environment and the working directory make them."""
    return {key: outcome(lambda k=key: dj.config[k]) for key in CONFIG_KEYS}


def s_errors(dj: Any, args: argparse.Namespace) -> Any:
    c = dj.config
    db = c.database
    cases: dict[str, Callable[[], Any]] = {
        "get unknown attribute": lambda: c.nonsense,
        "get unknown item": lambda: c["nonsense"],
        "get unknown nested item": lambda: c["database.hots"],
        "get unknown nested attribute": lambda: db.hots,
        "hasattr unknown": lambda: hasattr(c, "nonsense"),
        "hasattr nested unknown": lambda: hasattr(db, "hots"),
        "hasattr known": lambda: hasattr(c, "safemode"),
        "get default": lambda: c.get("nonexistent.key", "fallback"),
        "set unknown attribute": set_attr(c, "nonsense", 1),
        "set unknown item": assign(c, "nonsense", 1),
        "set unknown nested item": assign(c, "database.hots", 1),
        "port not a number": set_attr(db, "port", "x"),
        "port fractional": set_attr(db, "port", 3.5),
        "port from text": assign(c, "database.port", "3307"),
        "limit not a number": assign(c, "display.limit", "many"),
        "safemode perhaps": assign(c, "safemode", "perhaps"),
        "safemode yes": assign(c, "safemode", "yes"),
        "safemode 0": assign(c, "safemode", 0),
        "backend oracle": set_attr(db, "backend", "oracle"),
        "loglevel invalid": set_attr(c, "loglevel", "INVALID_LEVEL"),
        "fetch_format": set_attr(c, "fetch_format", "invalid"),
        "user not text": set_attr(db, "user", 5),
        "host None": set_attr(db, "host", None),
        "priority too high": set_attr(c.jobs, "default_priority", 300),
        "stale timeout negative": set_attr(c.jobs, "stale_timeout", -1),
        "direction RL": set_attr(c.display, "diagram_direction", "RL"),
        "query_cache text": assign(c, "query_cache", "/tmp/cache"),
        "load missing file": lambda: c.load("/nonexistent/path/config.json"),
        "store not configured": lambda: c.get_store_spec("nonexistent_store"),
    }
    return {name: outcome(action) for name, action in cases.items()} | {
        "after": {k: outcome(lambda k=k: c[k]) for k in ("database.port", "safemode")},
        "query_cache": outcome(lambda: type(c.query_cache).__name__),
    }


def s_changes(dj: Any, args: argparse.Namespace) -> Any:
    """Assignment, override(), del, the password, the port when the backend changes."""
    c = dj.config
    seen: dict[str, Any] = {}
    with c.override(safemode=False, database__host="override_host", display__limit=3):
        seen["inside"] = [c.safemode, c.database.host, c["display.limit"]]
    seen["after"] = [c.safemode, c.database.host, c["display.limit"]]
    try:
        with c.override(safemode=False):
            raise ValueError("inside")
    except ValueError:
        seen["after error"] = c.safemode
    c.database.password = "hunter2"
    seen["password item"] = c["database.password"]
    seen["password attribute type"] = type(c.database.password).__name__
    seen["password repr"] = "hunter2" not in repr(c.database.password)
    seen["password shown"] = "hunter2" in repr(c)
    seen["repr keys"] = [k in repr(c) for k in ("host=", "user=", "password=")]
    c.safemode = False
    del c["safemode"]
    seen["del resets"] = c.safemode
    c.database.backend = "postgresql"
    seen["port after backend change"] = c.database.port
    c.database.port = None
    seen["port after None"] = c.database.port
    settings = importlib.import_module(f"{args.package}.settings")
    fresh = settings.DatabaseSettings()
    seen["group port"] = fresh.port
    seen["group backend"] = fresh.backend
    seen["group repr"] = repr(fresh).split("(")[0]
    c.stores["main"] = {"protocol": "file", "location": "/tmp/x"}
    seen["stores item"] = c["stores.main.location"]
    seen["role"] = [r.name for r in settings.Role]
    seen["prefixes"] = {r.name: p for r, p in settings.role_to_prefix.items()}
    seen["names"] = [settings.CONFIG_FILENAME, settings.SECRETS_DIRNAME]
    seen["env mapping"] = {
        k: settings.ENV_VAR_MAPPING.get(k)
        for k in ("database.host", "database.backend", "database.name", "loglevel")
    }
    return seen


def s_load(dj: Any, args: argparse.Namespace) -> Any:
    """``config.load(file)`` over what the environment set; a fresh Config too."""
    settings = importlib.import_module(f"{args.package}.settings")
    path = Path("extra.json")
    path.write_text(json.dumps({"database": {"host": "file_host", "name": "file_db"}}))
    dj.config.load(path)
    fresh = settings.Config()
    fresh.load(path)
    return {
        "global": [dj.config.database.host, dj.config.database.name],
        "fresh": [fresh.database.host, fresh.database.name],
    }


def s_template(dj: Any, args: argparse.Namespace) -> Any:
    result: dict[str, Any] = {}
    minimal = dj.config.save_template("minimal.json", minimal=True, create_secrets_dir=False)
    result["minimal path is absolute"] = Path(minimal).is_absolute()
    result["minimal"] = json.loads(Path("minimal.json").read_text())
    dj.config.save_template("full.json", minimal=False, create_secrets_dir=True)
    result["full"] = json.loads(Path("full.json").read_text())
    result["secrets"] = {p.name: p.read_text() for p in sorted(Path(".secrets").iterdir())}
    result["again"] = outcome(lambda: dj.config.save_template("full.json"))
    return result


def s_stores(dj: Any, args: argparse.Namespace) -> Any:
    c = dj.config
    specs = {
        "file": {"protocol": "file", "location": "/tmp/test"},
        "s3": {"protocol": "s3", "endpoint": "e", "bucket": "b", "location": "l"},
        "no_bucket": {"protocol": "s3", "endpoint": "e", "location": "l"},
        "no_location": {"protocol": "file"},
        "bad_key": {"protocol": "file", "location": "/x", "colour": "red"},
        "overlap": {
            "protocol": "file",
            "location": "/x",
            "hash_prefix": "a",
            "schema_prefix": "a/b",
        },
        "reverse": {
            "protocol": "file",
            "location": "/x",
            "hash_prefix": "a/b/c",
            "schema_prefix": "a/b",
        },
        "similar": {
            "protocol": "file",
            "location": "/x",
            "hash_prefix": "m_h",
            "schema_prefix": "m_s",
        },
        "odd": {"protocol": "ftp", "location": "/x"},
    }
    c.stores.clear()
    c.stores.update(specs)
    found = {name: outcome(lambda n=name: c.get_store_spec(n)) for name in specs}
    found["no default"] = outcome(lambda: c.get_store_spec(None))
    found["no filepath default"] = outcome(
        lambda: c.get_store_spec(None, use_filepath_default=True)
    )
    c.stores["default"] = "file"
    c.stores["filepath_default"] = "s3"
    found["default"] = outcome(lambda: c.get_store_spec(None))
    found["filepath default"] = outcome(lambda: c.get_store_spec(None, use_filepath_default=True))
    c.stores["default"] = 5
    found["default not text"] = outcome(lambda: c.get_store_spec(None))
    return found


def s_thread_safe(dj: Any, args: argparse.Namespace) -> Any:
    """Run with DJ_THREAD_SAFE=true."""
    return {
        "config get": outcome(lambda: dj.config.database),
        "config item": outcome(lambda: dj.config["safemode"]),
        "config set": outcome(set_attr(dj.config, "safemode", False)),
        "conn": outcome(lambda: dj.conn()),
        "schema": outcome(lambda: dj.Schema("test_schema")),
        "free table": outcome(lambda: dj.FreeTable("test.table")),
        "list schemas": outcome(lambda: dj.list_schemas()),
        "repr": repr(dj.config),
        "template": outcome(
            lambda: Path(dj.config.save_template("t.json", create_secrets_dir=False)).name
        ),
        "instance class": callable(dj.Instance),
    }


def s_package(dj: Any, args: argparse.Namespace) -> Any:
    """Package-level names, errors, lazy modules."""
    heavy = [m for m in ("numpy", "networkx", "matplotlib") if m in sys.modules]
    names = [
        "config", "conn", "Connection", "Instance", "Schema", "VirtualModule", "virtual_schema",
        "list_schemas", "Table", "FreeTable", "AutoPopulate", "Job", "Manual", "Entry", "Lookup",
        "Imported", "Ingest", "Computed", "Compute", "Part", "Not", "AndList", "Top", "U",
        "Diagram", "MatCell", "MatStruct", "errors", "DataJointError", "ThreadSafetyError",
        "logger", "cli", "SparkAdapter", "deploy", "migrate",
    ]  # fmt: skip
    errors = [
        "DataJointError", "LostConnectionError", "QueryError", "QuerySyntaxError", "AccessError",
        "MissingTableError", "DuplicateError", "IntegrityError", "UnknownAttributeError",
        "MissingAttributeError", "ThreadSafetyError",
    ]  # fmt: skip
    result: dict[str, Any] = {
        "names": {n: hasattr(dj, n) for n in names},
        "in __all__": {n: n in dj.__all__ for n in names if n != "config"},
        "aliases": [dj.Entry is dj.Manual, dj.Ingest is dj.Imported, dj.Compute is dj.Computed],
        "errors": {n: issubclass(getattr(dj.errors, n), dj.errors.DataJointError) for n in errors},
        "suggest": dj.errors.DataJointError("a").suggest("b").args,
        "heavy modules after import": heavy,
        "diagram module": [hasattr(dj.diagram, "Diagram"), bool(dj.diagram.diagram_active)],
        "cli callable": callable(dj.cli),
        "logger": dj.logger.name.split(".")[0] == args.package,
    }

    class Adapting:
        def to_spark(self, decoded: Any, *, key: Any = None) -> Any:
            return decoded

    result["spark"] = [
        isinstance(Adapting(), dj.SparkAdapter),
        isinstance(object(), dj.SparkAdapter),
    ]
    result["modules"] = [
        callable(dj.deploy.set_replica_identity),
        callable(dj.migrate.add_job_metadata_columns),
    ]
    logging_module = importlib.import_module(f"{args.package}.logging")
    result["formatter"] = inspect.isclass(logging_module.LevelAwareFormatter)
    schemas_module = importlib.import_module(f"{args.package}.schemas")
    result["schemas module"] = all(
        hasattr(schemas_module, n) for n in ("VirtualModule", "list_schemas", "virtual_schema")
    )
    return result


# -- a server ------------------------------------------------------------------------------------


def configure(dj: Any, args: argparse.Namespace) -> dict[str, Any]:
    dj.config["database.backend"] = args.backend
    dj.config["database.host"] = args.host
    dj.config["database.port"] = int(args.port)
    dj.config["safemode"] = False
    return {"host": f"{args.host}:{args.port}", "user": args.user, "password": PASSWORD}


def s_connection(dj: Any, args: argparse.Namespace) -> Any:
    creds = configure(dj, args)
    seen: dict[str, Any] = {}
    c1 = dj.conn(**creds)
    seen["persistent"] = [dj.conn() is c1, dj.conn(**creds) is c1]
    c2 = dj.conn(reset=True, **creds)
    seen["reset"] = [c2 is not c1, dj.conn() is c2, c1.is_connected]
    state = re.sub(r"\) .*", ")", repr(c2))
    seen["repr"] = [state, f"{args.user}@{args.host}:{args.port}" in repr(c2)]
    seen["select"] = c2.query("SELECT 1").fetchone()[0]
    seen["as_dict"] = c2.query("SELECT 1 AS one, 2 AS two", as_dict=True).fetchall()
    seen["fetchall"] = plain(c2.query("SELECT 1 UNION SELECT 2").fetchall())
    insecure = dj.Connection(creds["host"], args.user, PASSWORD, use_tls=False)
    seen["conn_info"] = {
        k: insecure.conn_info.get(k) for k in ("host", "port", "user", "database_name", "ssl_input")
    }
    seen["ssl key"] = ["ssl" in insecure.conn_info, "ssl" in c2.conn_info]
    with insecure as entered:
        seen["context"] = [entered is insecure, insecure.is_connected]
    seen["closed by context"] = insecure.is_connected
    c2.close()
    seen["after close"] = c2.is_connected
    seen["no reconnect"] = outcome(lambda: c2.query("SELECT 1", reconnect=False).fetchall())
    seen["reconnect"] = outcome(lambda: len(c2.query("SELECT 1", reconnect=True).fetchall()))
    seen["alive again"] = c2.is_connected
    if not c2.is_connected:  # the reference on PostgreSQL: psycopg2's error is not translated
        c2.connect()
    with c2.transaction as t:
        seen["in transaction"] = [t is c2, c2.in_transaction]
    seen["after transaction"] = c2.in_transaction

    def lose_in_transaction() -> None:
        with c2.transaction:
            c2.close()
            c2.query("SELECT 1", reconnect=True).fetchall()

    seen["lost in transaction"] = outcome(lose_in_transaction)
    if not c2.is_connected:
        c2.connect()
    seen["usable after"] = c2.query("SELECT 1").fetchone()[0]
    c3 = dj.Connection(creds["host"], args.user, PASSWORD)
    c3.start_transaction()
    seen["nested"] = outcome(c3.start_transaction)
    c3.cancel_transaction()
    seen["user"] = outcome(lambda: c3.get_user().split("@")[0])
    return seen


def s_schema(dj: Any, args: argparse.Namespace) -> Any:
    """Deferred activation, declaring, the errors around it, names, drop."""
    creds = configure(dj, args)
    conn = dj.conn(reset=True, **creds)
    seen: dict[str, Any] = {}
    schema = dj.Schema()
    seen["activated before"] = schema.is_activated()
    seen["exists before"] = outcome(lambda: schema.exists)
    seen["activate without name"] = outcome(lambda: schema.activate())

    class Subject(dj.Manual):
        definition = """
        subject_id : int32
        ---
        species : varchar(32)
        """

    class Kind(dj.Lookup):
        definition = """
        kind : varchar(16)
        """
        contents = [("visual",), ("audio",)]

    class Session(dj.Manual):
        definition = """
        -> Subject
        session_id : int32
        ---
        -> [nullable] Kind
        """

        class Trial(dj.Part):
            definition = """
            -> master
            trial_id : int32
            """

    class Source(dj.Manual):
        parent = None
        definition = """
        -> self.parent
        source_id : int32
        """

    class SubjectSource(Source):
        parent = Subject

    context = {"Subject": Subject, "Kind": Kind, "Session": Session}
    for cls in (Subject, Kind, Session, SubjectSource):
        schema(cls, context=context)
    seen["decorate a part"] = outcome(lambda: schema(Session.Trial))
    seen["declared before activation"] = Subject.database
    schema.activate(args.schema, connection=conn)
    seen["activated"] = [schema.is_activated(), schema.exists, Subject.database == args.schema]
    seen["tables"] = sorted(schema.list_tables())
    order = schema.list_tables()
    seen["topological"] = (
        order.index("subject") < order.index("session") < order.index("session__trial")
    )
    seen["lookup rows"] = len(Kind())
    seen["inherited reference"] = "subject_id" in SubjectSource.heading.names
    seen["again"] = outcome(lambda: schema.activate(args.schema))
    seen["other name"] = outcome(lambda: schema.activate(args.schema + "_other"))
    seen["repr"] = repr(schema)
    seen["contains"] = [
        "Session" in schema,
        "session" in schema,
        "kind" in schema,
        "Nope" in schema,
    ]
    seen["get_table"] = [schema.get_table("Kind").table_name, schema["session"].table_name]
    seen["get missing"] = outcome(lambda: schema.get_table("Nope"))
    seen["iterate"] = sorted(t.table_name for t in schema)
    seen["list_schemas"] = args.schema in dj.list_schemas(connection=conn)
    missing = args.schema + "_missing"
    seen["create_schema=False"] = outcome(
        lambda: dj.Schema(missing, connection=conn, create_schema=False)
    )
    deps = conn.dependencies
    deps.load()
    full = Session.full_table_name
    seen["parents"] = sorted(
        [p.split(".")[-1].strip('`"'), bool(d["primary"])] for p, d in deps.parents(full)
    )
    seen["children"] = sorted(
        c.split(".")[-1].strip('`"') for c, _ in deps.children(Subject.full_table_name)
    )
    seen["descendants"] = [d.split(".")[-1].strip('`"') for d in deps.descendants(full)]
    seen["in graph"] = Subject.full_table_name in deps
    seen["lineage"] = {k.split(".", 1)[1]: v.split(".", 1)[1] for k, v in schema.lineage.items()}
    seen["lineage table"] = schema.lineage_table_exists

    def rebuilt() -> dict[str, str]:
        schema.rebuild_lineage()
        return {k.split(".", 1)[1]: v.split(".", 1)[1] for k, v in schema.lineage.items()}

    seen["rebuilt lineage"] = outcome(rebuilt)  # the reference fails on PostgreSQL
    seen["drop"] = outcome(lambda: schema.drop(prompt=False))
    seen["exists after drop"] = schema.exists
    seen["drop again"] = outcome(lambda: schema.drop(prompt=False))
    return seen


def s_classes(dj: Any, args: argparse.Namespace) -> Any:
    """Classes made from the catalog of a schema that ``declare`` (the pipeline script) made."""
    creds = configure(dj, args)
    conn = dj.conn(reset=True, **creds)
    module = dj.VirtualModule("lab", args.schema, connection=conn)
    seen: dict[str, Any] = {}
    tiers = ("Manual", "Lookup", "Imported", "Computed", "Part")
    for name, cls in sorted(vars(module).items()):
        if isinstance(cls, type) and issubclass(cls, dj.Table):
            parts = sorted(
                n for n in vars(cls) if n[:1].isupper() and isinstance(getattr(cls, n), type)
            )
            base = next(t for t in tiers if issubclass(cls, getattr(dj, t)))
            seen[name] = {"tier": base, "table": cls().table_name, "parts": parts}
    seen["schema attribute"] = module.schema.database == args.schema
    into: dict[str, Any] = {}
    module.schema.make_classes(into=into)
    seen["make_classes"] = sorted(into)
    virtual = dj.virtual_schema(args.schema, connection=conn)
    seen["virtual_schema"] = [isinstance(virtual, dj.VirtualModule), virtual.__name__]
    seen["missing schema"] = outcome(
        lambda: dj.VirtualModule("x", args.schema + "_nope", connection=conn)
    )
    return seen


def s_deploy(dj: Any, args: argparse.Namespace) -> Any:
    """``deploy.set_replica_identity`` on a schema of two tables and on one table."""
    creds = configure(dj, args)
    conn = dj.conn(reset=True, **creds)
    schema = dj.Schema(args.schema, connection=conn)

    @schema
    class First(dj.Manual):
        definition = """
        first_id : int32
        """

    @schema
    class Second(dj.Manual):
        definition = """
        -> First
        second_id : int32
        """

    deploy = importlib.import_module(f"{args.package}.deploy")
    name = args.schema
    seen: dict[str, Any] = {}

    def run(target: Any, **kw: Any) -> Any:
        result = deploy.set_replica_identity(target, **kw)
        result["ddl"] = sorted(d.replace(name, "S") for d in result["ddl"])
        return result

    seen["bad mode"] = outcome(lambda: deploy.set_replica_identity(schema, mode="nothing"))
    seen["bad target"] = outcome(lambda: deploy.set_replica_identity("not a schema"))
    seen["dry run"] = outcome(lambda: run(schema))
    seen["apply"] = outcome(lambda: run(schema, dry_run=False))
    seen["one table"] = outcome(lambda: run(Second, mode="DEFAULT", dry_run=False))
    seen["instance"] = outcome(lambda: run(First(), dry_run=True))
    if args.backend == "postgresql":
        rows = conn.query(
            "SELECT c.relname, c.relreplident FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = 'r' ORDER BY 1",
            (name,),
        ).fetchall()
        seen["replica identity"] = [list(r) for r in rows]
    schema.drop(prompt=False)
    return seen


def s_jobmeta_declare(dj: Any, args: argparse.Namespace) -> Any:
    """(the reference) Two Computed tables, one declared with the job columns, one without."""
    creds = configure(dj, args)
    conn = dj.conn(reset=True, **creds)
    schema = dj.Schema(args.schema, connection=conn)

    @schema
    class Source(dj.Lookup):
        definition = """
        source_id : int16
        """
        contents = [(1,), (2,)]

    dj.config.jobs.add_job_metadata = False

    @schema
    class Legacy(dj.Computed):
        definition = """
        -> Source
        ---
        result : float32
        """

        def make(self, key: Any) -> None:
            self.insert1({**key, "result": 2.0})

    dj.config.jobs.add_job_metadata = True

    @schema
    class Fresh(dj.Computed):
        definition = """
        -> Source
        ---
        result : float32
        """

    return {"tables": sorted(schema.list_tables())}


def s_jobmeta_migrate(dj: Any, args: argparse.Namespace) -> Any:
    """``migrate.add_job_metadata_columns`` on the table ``jobmeta_declare`` made without them."""
    creds = configure(dj, args)
    conn = dj.conn(reset=True, **creds)
    migrate = importlib.import_module(f"{args.package}.migrate")
    module = dj.VirtualModule("m", args.schema, connection=conn)
    seen: dict[str, Any] = {}
    for step, dry_run in (("preview", True), ("apply", False), ("again", False)):
        result = migrate.add_job_metadata_columns(module.Legacy, dry_run=dry_run)
        seen[step] = {k: result[k] for k in ("tables_analyzed", "tables_modified", "columns_added")}
        seen[step]["status"] = [d["status"] for d in result["details"]]
    whole = migrate.add_job_metadata_columns(module.schema, dry_run=True)
    seen["schema"] = {k: whole[k] for k in ("tables_analyzed", "tables_modified", "columns_added")}
    return seen


def s_drop_enum(dj: Any, args: argparse.Namespace) -> Any:
    """Dropping a table keeps enum types other columns share and drops the ones left unused,
    by ``drop_quick`` and by ``drop`` (PostgreSQL names one type per set of values)."""
    creds = configure(dj, args)
    conn = dj.conn(reset=True, **creds)
    schema = dj.Schema(args.schema, connection=conn)

    def types() -> list[str]:
        if args.backend != "postgresql":
            return []
        rows = conn.query(
            "SELECT t.typname FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n "
            "ON n.oid = t.typnamespace WHERE t.typtype = 'e' AND n.nspname = %s "
            "ORDER BY t.typname",
            args=(args.schema,),
        ).fetchall()
        return [r[0] for r in rows]

    def columns(table: str) -> list[Any]:
        rows = conn.query(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = %s "
            "AND table_name = %s ORDER BY ordinal_position",
            args=(args.schema, table),
        ).fetchall()
        return [r[0] for r in rows]

    @schema
    class Animal(dj.Manual):
        definition = """
        animal_id : int32
        ---
        species : enum('mouse', 'rat')
        """

    @schema
    class Cage(dj.Manual):
        definition = """
        cage_id : int32
        ---
        species : enum('mouse', 'rat')
        size : enum('small', 'large')
        """

    @schema
    class Housing(dj.Manual):
        definition = """
        -> Animal
        ---
        room : enum('a', 'b')
        """

    Animal.insert([(1, "mouse"), (2, "rat")])
    Cage.insert([(1, "rat", "small")])
    Housing.insert([(1, "a")])
    seen: dict[str, Any] = {"types": len(types())}
    Cage().drop_quick()
    seen["after drop_quick"] = {
        "animal": columns("animal"),
        "cage": columns("cage"),
        "rows": Animal.to_dicts(order_by="animal_id"),
        "types": len(types()),
    }
    Animal().drop(prompt=False)  # takes Housing along
    seen["after drop"] = {"tables": sorted(schema.list_tables()), "types": types()}
    schema.drop(prompt=False)
    return seen


def s_drawing(dj: Any, args: argparse.Namespace) -> Any:
    """What make_dot and make_mermaid draw: node styles, edge weights and styles, entity
    clusters, themes, and collapsed schemas (a bundle between two, one collapsed end)."""
    creds = configure(dj, args)
    conn = dj.conn(reset=True, **creds)
    schema = dj.Schema(args.schema, connection=conn)
    other = dj.Schema(args.schema + "_other", connection=conn)

    @schema
    class Subject(dj.Manual):
        definition = "subject_id : int32"

    @schema
    class Params(dj.Lookup):
        definition = "param_id : int32"

    @schema
    class Session(dj.Manual):
        definition = "-> Subject\nsession_id : int32"

        class Note(dj.Part):
            definition = "-> master\nnote_id : int32"

    @schema
    class Scan(dj.Imported):
        definition = "-> Session"

    @schema
    class Analysis(dj.Computed):
        definition = "-> Scan\n-> Params"

    @schema
    class Renamed(dj.Manual):
        definition = "-> Subject.proj(other='subject_id')\n---\n-> [nullable] Params"

    @other
    class Mixed(dj.Manual):
        definition = "-> Subject\n---\n-> [nullable] Params"

    @other
    class Multi(dj.Manual):
        definition = "-> Session\nsub_id : int32"

    context = {c.__name__: c for c in (Subject, Params, Session, Scan, Analysis, Renamed)}
    context |= {"Mixed": Mixed, "Multi": Multi}

    def node_name(node: Any) -> str:
        name = node.get_name().strip('"')
        return "<collapsed>" if str(node.get("shape")) == "box3d" else name

    def drawn(dot: Any) -> dict[str, Any]:
        keys = ("shape", "fillcolor", "color", "fontcolor", "style", "fontsize", "width")
        nodes = {
            node_name(n): {k: str(n.get(k)).strip('"') for k in keys}
            | {"label": str(n.get("label")).replace("<u>", "_").replace("</u>", "").strip('"<>')}
            for n in dot.get_nodes()
            if n.get_name() not in ("node", "edge", "graph")
        }
        shapes = {n.get_name().strip('"'): node_name(n) for n in dot.get_nodes()}
        edges = sorted(
            [
                shapes.get(e.get_source().strip('"'), e.get_source().strip('"')),
                shapes.get(e.get_destination().strip('"'), e.get_destination().strip('"')),
                *(str(e.get(k)).strip('"') for k in ("penwidth", "style", "color", "weight")),
            ]
            for e in dot.get_edges()
        )
        clusters = sorted(
            sub.get_name().strip('"').replace("cluster_cluster_", "cluster_").split("_", 2)[2]
            for top in dot.get_subgraphs()
            for sub in top.get_subgraphs()
        )
        return {"nodes": nodes, "edges": edges, "entity clusters": clusters}

    def mermaid_lines(text: str) -> list[str]:
        keep = ("classDef manual", "classDef computed", "classDef part", "linkStyle")
        found = [line.strip() for line in text.splitlines() if line.strip().startswith(keep)]
        return sorted(re.sub(r"^linkStyle \d+ ", "linkStyle ", line) for line in found)

    whole = dj.Diagram(schema, context=context)
    seen: dict[str, Any] = {"light": drawn(whole.make_dot(theme="light"))}
    seen["dark"] = drawn(whole.make_dot(theme="dark"))["nodes"]["Session"]
    seen["mermaid"] = mermaid_lines(whole.make_mermaid())
    seen["mermaid entity"] = "subgraph entity_Session" in whole.make_mermaid()
    both = dj.Diagram(schema, context=context) + dj.Diagram(other, context=context)
    seen["bundle"] = drawn(both.collapse().make_dot(theme="light"))["edges"]
    one_end = (dj.Diagram(schema, context=context).collapse() + dj.Diagram(Multi)).make_dot(
        theme="light"
    )
    seen["one collapsed end"] = drawn(one_end)["edges"]
    seen["upstream collapsed"] = drawn(
        (dj.Diagram(Analysis, context=context) - 1).make_dot(theme="light")
    )["edges"]
    other.drop(prompt=False)
    schema.drop(prompt=False)
    return seen


def s_html(dj: Any, args: argparse.Namespace) -> Any:
    """What ``repr`` and ``_repr_html_`` of a query show: whole uuids and long text, NULLs,
    placeholders for blobs and JSON, the header spans and the style."""
    creds = configure(dj, args)
    conn = dj.conn(reset=True, **creds)
    schema = dj.Schema(args.schema, connection=conn)
    import uuid as uuid_module

    # the reference cannot write or read a uuid column on PostgreSQL (it sends and expects 16
    # bytes): there the key is the uuid's text
    uuid_key = args.backend != "postgresql"

    @schema
    class Recording(dj.Manual):
        definition = f"""
        recording_id : {"uuid" if uuid_key else "varchar(36)"}  # the recording
        ---
        notes = null : varchar(200)   # free text
        params = null : json
        trace = null : <blob>
        when = null : datetime
        gain = null : float64
        """

    ids = [uuid_module.UUID(int=0), uuid_module.UUID("1b4e28ba-2fa1-11d2-883f-0016d3cca427")]
    Recording.insert1(
        {
            "recording_id": ids[0] if uuid_key else str(ids[0]),
            "notes": "a long note that goes on well past the display width of a column",
            "params": {"a": 1},
            "gain": 1.5,
            "when": "2024-01-02 03:04:05",
        }
    )
    Recording.insert1({"recording_id": ids[1] if uuid_key else str(ids[1])})
    page = Recording()._repr_html_()
    cells = [html_text(c) for c in re.findall(r"<td>(.*?)</td>", page, re.S)]
    head = re.findall(r'<span id="(\w+)" title="([^"]*)">([^<]*)</span>', page)
    text = repr(Recording())
    seen = {
        "cells": cells,
        "head": head,
        "styled": ['class="Table"' in page, "<style" in page, "prefers-color-scheme" in page],
        "more": "<p>...</p>" in page,
        "total": re.findall(r"Total: \d+", page),
        "text header": text.splitlines()[0].split(),
        "text shows whole uuid": str(ids[1]) in page,
    }
    schema.drop(prompt=False)
    return seen


def html_text(cell: str) -> str:
    import html

    return html.unescape(cell.strip())


SCENARIOS = {name[2:]: f for name, f in globals().items() if name.startswith("s_")}
PASSWORD = os.environ.get("DJREF_PASS", "")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", choices=sorted(SCENARIOS))
    parser.add_argument("--package", required=True, choices=("datajoint", "datajoint_core"))
    parser.add_argument("--backend", default="mysql")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", default="3306")
    parser.add_argument("--user", default="root")
    parser.add_argument("--schema", default="")
    args = parser.parse_args()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dj = importlib.import_module(args.package)
    result = SCENARIOS[args.scenario](dj, args)
    print(json.dumps(plain(result), sort_keys=True))


if __name__ == "__main__":
    main()
