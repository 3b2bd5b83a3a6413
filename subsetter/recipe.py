"""YAML recipe -> frozen dataclasses. Pure: no database is touched here.

Every mistake raises :class:`RecipeError` naming the file, the line and the key path, and suggests
the valid choices::

    >>> parse_recipe("version: 1\\nsource: {embedded: ./pg}\\nschema: [lab]\\n", file="r.yaml")
    Traceback (most recent call last):
    ...
    subsetter.recipe.RecipeError: r.yaml:3: schema: unknown key 'schema' (did you mean 'schemas'?)

Secrets travel only through ``${VAR}`` / ``${VAR:-default}`` interpolation; a literal password in
the file is refused, so the raw text (kept for the manifest) never holds one.
"""

from __future__ import annotations

import difflib
import fnmatch
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, TypeVar

import yaml

from datajoint_core.adapters.facts import ALIASES, BACKEND_NAMES, DATABASE_LEVEL, EMBEDDABLE
from datajoint_core.adapters.facts import backend as facts

SUPPORTED_VERSIONS = (1,)
MAX_RECIPE_BYTES = 1 << 20  # a recipe is a page of YAML; anything larger is a mistake or an attack
MAX_VALUES = 100_000  # values after expanding aliases: bounds "billion laughs"
MAX_DEPTH = 64  # nesting levels
_MAX_LISTED = 12  # list at most this many choices in a message

TOP_KEYS: tuple[str, ...] = ("version", "source", "schemas", "restrictions", "prune")
TOP_KEYS += ("include", "exclude", "upstream", "ordered", "outputs")
CONNECTION_KEYS = ("backend", "host", "port", "user", "password", "database", "embedded")
RESTRICTION_KEYS = ("table", "where", "limit", "order_by", "sample")
SAMPLE_KEYS = ("percent", "seed")
FILE_OUTPUT_KEYS = ("type", "path", "schema_map", "if_exists")
INSTANCE_OUTPUT_KEYS = ("type", *CONNECTION_KEYS, "schema_map", "if_exists", "adopt")
_SERVER_KEYS = ("host", "port", "user", "password")  # what `embedded` replaces
MAX_LIMIT = 2**63 - 1  # the largest LIMIT both servers take (PostgreSQL's bigint)

_E = TypeVar("_E", bound=Enum)
_T = TypeVar("_T")


class RecipeError(Exception):
    """A recipe mistake, located: ``recipe.yaml:12: restrictions[1].table: unknown table ...``."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        key: str | None = None,
        choices: Sequence[str] = (),
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.key = key
        self.choices = tuple(choices)
        super().__init__(message)

    def __str__(self) -> str:
        place = ":".join(str(p) for p in (self.file, self.line) if p is not None)
        return ": ".join(p for p in (place, self.key, self.message) if p)

    def __reduce__(self) -> tuple[Any, ...]:  # keep the keyword-only fields through pickling
        return (_rebuild_error, (self.message, self.file, self.line, self.key, self.choices))


def _rebuild_error(*fields: Any) -> RecipeError:
    message, file, line, key, choices = fields
    return RecipeError(message, file=file, line=line, key=key, choices=choices)


@dataclass(frozen=True)
class Location:
    """Where a key sits: file, 1-based line, and key path (``restrictions[1].where``)."""

    file: str
    line: int
    key: str

    def error(
        self, message: str, choices: Sequence[str] = (), near: str | None = None
    ) -> RecipeError:
        """A RecipeError here; with `near` and `choices` adds "did you mean", else lists choices."""
        text = _with_hint(message, [str(c) for c in choices], near)
        return RecipeError(
            text, file=self.file, line=self.line, key=self.key or None, choices=choices
        )


def _with_hint(message: str, choices: list[str], near: str | None) -> str:
    if near is not None and choices:
        match = difflib.get_close_matches(near, choices, n=1, cutoff=0.6)
        if not match:  # case slips ("lab.subject") score low but are the likeliest typo
            match = [c for c in choices if c.lower() == near.lower()][:1]
        if match:
            quote = '"' if f'"{near}"' in message else "'"
            return f"{message} (did you mean {quote}{match[0]}{quote}?)"
    if choices and len(choices) <= _MAX_LISTED:
        return f"{message} (expected one of: {', '.join(choices)})"
    return message


class Upstream(Enum):
    """How ancestors of restricted tables are kept."""

    ALL = "all"  # kept whole, as Diagram.restrict() does
    REFERENCED = "referenced"  # trimmed to the rows the subset references


class IfExists(Enum):
    """What an output does when its target exists already."""

    FAIL = "fail"
    REPLACE = "replace"
    APPEND = "append"


class OutputType(Enum):
    PARQUET = "parquet"
    DUCKDB = "duckdb"
    INSTANCE = "instance"


@dataclass(frozen=True)
class ConnectionSpec:
    """A database to read or write: a server (host...) or an embedded PostgreSQL directory."""

    backend: str
    host: str | None
    port: int | None
    user: str | None
    password: str | None = field(repr=False)
    database: str | None
    embedded: str | None
    location: Location

    def describe(self) -> str:
        """A display name without the password: ``postgresql://postgres@127.0.0.1:5432/postgres``."""
        if self.embedded is not None:
            return f"embedded {self.backend or 'postgresql'} at {self.embedded}"
        user = f"{self.user}@" if self.user else ""
        host = f"[{self.host}]" if self.host and ":" in self.host else (self.host or "")
        port = f":{self.port}" if self.port is not None else ""
        database = f"/{self.database}" if self.database else ""
        return f"{self.backend}://{user}{host}{port}{database}"


@dataclass(frozen=True)
class Sample:
    """Keep ~`percent` % of rows, picked by a hash of the primary key with `seed`."""

    percent: float
    seed: int


@dataclass(frozen=True)
class Restriction:
    """One recipe restriction on one table; entries are ANDed, in order.

    `where` is a restriction for the query algebra: a dict (AND of equalities), a list (OR of its
    dicts / SQL strings), an SQL string, or None.
    """

    table: str
    where: Any
    limit: int | None
    order_by: tuple[str, ...]
    sample: Sample | None
    location: Location
    table_location: Location

    def describe(self) -> str:
        """One line for previews: ``lab.Session: session_date > '2024-01-01'; top 10 by ...``."""
        parts = [] if self.where is None else [_describe_where(self.where)]
        if self.limit is not None:
            order = f" by {', '.join(self.order_by)}" if self.order_by else ""
            parts.append(f"top {self.limit}{order}")
        if self.sample is not None:
            parts.append(f"sample {self.sample.percent:g}% (seed {self.sample.seed})")
        return f"{self.table}: {'; '.join(parts)}"


def _describe_where(where: Any) -> str:
    if isinstance(where, dict):
        return " AND ".join(f"{k}={v!r}" for k, v in where.items())
    if isinstance(where, list):
        return " OR ".join(f"({_describe_where(item)})" for item in where)
    return str(where)


@dataclass(frozen=True)
class Output:
    """A named output: a Parquet directory, a DuckDB file, or a staging database (`connection`)."""

    name: str
    type: OutputType
    path: str | None
    connection: ConnectionSpec | None
    schema_map: dict[str, str]
    if_exists: IfExists
    location: Location
    adopt: bool = False  # may write into existing schemas that subset did not create

    def target_schema(self, schema: str) -> str:
        """The name `schema` gets in this output (after `schema_map`)."""
        return self.schema_map.get(schema, schema)


@dataclass(frozen=True)
class Recipe:
    """A validated recipe. `text` is the raw YAML (for the manifest); `locations` maps key paths."""

    path: str
    version: int
    source: ConnectionSpec
    schemas: tuple[str, ...]
    restrictions: tuple[Restriction, ...]
    prune: bool
    include: tuple[str, ...]
    exclude: tuple[str, ...]
    upstream: Upstream
    outputs: tuple[Output, ...]
    text: str
    locations: dict[str, Location]
    ordered: bool = True  # rows in primary-key order (deterministic files; costs a sort)

    def location(self, key: str) -> Location:
        """The location of `key` (``schemas[0]``), or of its nearest recorded ancestor."""
        return _nearest(self.locations, key)

    def output(self, name: str) -> Output:
        """The output called `name`; a RecipeError listing the names otherwise."""
        for output in self.outputs:
            if output.name == name:
                return output
        names = [o.name for o in self.outputs]
        raise self.location("outputs").error(f"no output named '{name}'", names, near=name)

    def keeps(self, *names: str) -> bool:
        """Whether a table, known by any of ``names`` (``lab.Subject``, ``lab.subject``), passes
        the `include` (default all) and `exclude` globs."""

        def matches(patterns: Sequence[str]) -> bool:
            return any(fnmatch.fnmatchcase(n, p) for n in names for p in patterns)

        return (not self.include or matches(self.include)) and not matches(self.exclude)


def load_recipe(
    path: str | os.PathLike[str],
    env: Mapping[str, str] | None = None,
    *,
    source_checks_schemas: bool = False,
) -> Recipe:
    """Read and validate the recipe file at `path`; `env` defaults to ``os.environ``.

    ``source_checks_schemas=True`` leaves a restriction on a schema missing from `schemas` to
    the plan, which knows the schemas of the source and so which of the two is the typo.

    Example: ``recipe = load_recipe("subset-demo/demo.yaml")``
    """
    file = os.fspath(path)
    try:
        with open(file, encoding="utf-8") as stream:
            text = stream.read(MAX_RECIPE_BYTES + 1)
    except OSError as err:
        raise RecipeError(f"cannot read the recipe: {err.strerror or err}", file=file) from err
    except UnicodeDecodeError as err:
        raise RecipeError(f"the recipe is not UTF-8 text: {err.reason}", file=file) from err
    return parse_recipe(text, file=file, env=env, source_checks_schemas=source_checks_schemas)


def parse_recipe(
    text: str,
    *,
    file: str = "<recipe>",
    env: Mapping[str, str] | None = None,
    source_checks_schemas: bool = False,
) -> Recipe:
    """Validate recipe `text`; `file` names it in errors and anchors relative paths
    (`source_checks_schemas` as for :func:`load_recipe`).

    Example: ``parse_recipe(text, file="demo.yaml", env={"PGPASSWORD": "..."})``
    """
    if len(text) > MAX_RECIPE_BYTES:
        limit = MAX_RECIPE_BYTES >> 20
        raise RecipeError(f"the recipe is larger than {limit} MB; recipes are short", file=file)
    doc = _Document(file, os.environ if env is None else env)
    doc.check_schemas = not source_checks_schemas
    data = doc.load(text)
    return _build_recipe(doc, data, text)


def resolve_path(recipe: Recipe, value: str) -> str:
    """`value` as an absolute path; relative paths are relative to the recipe file's directory."""
    value = os.path.expanduser(value)
    is_file = not (recipe.path.startswith("<") and recipe.path.endswith(">"))
    base = os.path.dirname(os.path.abspath(recipe.path)) if is_file else os.getcwd()
    return os.path.normpath(os.path.join(base, value))


# --- YAML nodes -> plain values with locations ---------------------------------------------------

_MERGE_TAG = "tag:yaml.org,2002:merge"
# libyaml's parser is fast and bounds its own nesting; the pure-Python one is the fallback
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# ${VAR}, ${VAR:-default}; $${...} is a literal "${...}"; a "${" without "}" is an error
_REFERENCE = re.compile(r"(\$?)\$\{(?:([^}]*)\})?")
_VARIABLE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?", re.DOTALL)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _parent(path: str) -> str:
    return re.sub(r"(\[\d+\]|\.?[^.\[\]]*)$", "", path)


def _nearest(locations: Mapping[str, Location], key: str) -> Location:
    path = key
    while path not in locations and path:
        path = _parent(path)
    found = locations.get(path)
    return Location(found.file if found else "<recipe>", found.line if found else 1, key)


class _Document:
    """Turns a YAML node tree into plain values, recording a Location for every key path."""

    def __init__(self, file: str, env: Mapping[str, str]) -> None:
        self.file = file
        self.env = env
        self.locations: dict[str, Location] = {}
        self.raw: dict[str, str] = {}  # strings before interpolation, where they had "${"
        self._loader: Any = None
        self._active: set[int] = set()  # nodes being converted: catches recursive aliases
        self._values = 0  # values converted so far (aliases counted each time they expand)
        self.check_schemas = True  # a restriction's schema must be in `schemas`

    def at(self, path: str) -> Location:
        return _nearest(self.locations, path)

    def load(self, text: str) -> Any:
        try:
            self._loader = _LOADER(text)
            node = self._loader.get_single_node()
            if node is None:
                raise RecipeError("the recipe is empty", file=self.file, line=1)
            return self._convert(node, "", node.start_mark)
        except RecursionError:  # the pure-Python parser, on absurd nesting
            raise RecipeError(f"nesting deeper than {MAX_DEPTH} levels", file=self.file) from None
        except yaml.MarkedYAMLError as err:
            raise self._yaml_error(err) from None
        except yaml.reader.ReaderError as err:
            line = text.count("\n", 0, err.position) + 1
            message = f"invalid YAML: unacceptable character #x{err.character:04x} ({err.reason})"
            raise RecipeError(message, file=self.file, line=line) from None
        except yaml.YAMLError as err:
            raise RecipeError(f"invalid YAML: {err}", file=self.file) from None
        finally:
            if self._loader is not None:
                self._loader.dispose()

    def _yaml_error(self, err: yaml.MarkedYAMLError) -> RecipeError:
        mark = err.problem_mark or err.context_mark
        message = f"invalid YAML: {err.problem or err.context}"
        if err.context and err.problem:
            message += f" ({err.context}"
            if err.context_mark and mark and err.context_mark.line != mark.line:
                message += f" at line {err.context_mark.line + 1}"
            message += ")"
        return RecipeError(message, file=self.file, line=mark.line + 1 if mark else None)

    def _record(self, path: str, mark: yaml.Mark) -> None:
        self.locations[path] = Location(self.file, mark.line + 1, path)

    def _convert(self, node: yaml.Node, path: str, mark: yaml.Mark, depth: int = 0) -> Any:
        self._record(path, mark)
        self._values += 1
        if self._values > MAX_VALUES:
            raise self.at(path).error(
                f"the recipe expands to more than {MAX_VALUES:,} values (through YAML aliases?)"
            )
        if depth > MAX_DEPTH:
            raise self.at(path).error(f"nesting deeper than {MAX_DEPTH} levels")
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node, path)
        if id(node) in self._active:
            raise self.at(path).error("a recursive alias (*name) cannot be used here")
        self._active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return [
                    self._convert(n, f"{path}[{i}]", n.start_mark, depth + 1)
                    for i, n in enumerate(node.value)
                ]
            return self._mapping(node, path, depth)
        finally:
            self._active.discard(id(node))

    def _scalar(self, node: yaml.ScalarNode, path: str) -> Any:
        assert self._loader is not None
        try:
            value = self._loader.construct_object(node)
        except (ValueError, TypeError, AttributeError, OverflowError) as err:
            kind = node.tag.rsplit(":", 1)[-1]
            message = f"invalid YAML: cannot read {node.value!r} as {kind} ({err})"
            raise self.at(path).error(message) from None
        if isinstance(value, str) and "${" in value:
            self.raw[path] = value
            value = self._interpolate(value, path)
        return value

    def _mapping(self, node: yaml.Node, path: str, depth: int) -> dict[str, Any]:
        assert self._loader is not None and isinstance(node, yaml.MappingNode)
        self._check_duplicates(node, path)
        self._loader.flatten_mapping(node)  # resolves "<<: *anchor" merge keys; own keys win
        return {
            (key := self._key(k, path)): self._convert(v, _join(path, key), k.start_mark, depth + 1)
            for k, v in node.value
        }

    def _key(self, node: yaml.Node, path: str) -> str:
        if not isinstance(node, yaml.ScalarNode):
            raise Location(self.file, node.start_mark.line + 1, path).error("expected a plain key")
        return str(node.value)

    def _check_duplicates(self, node: yaml.MappingNode, path: str) -> None:
        seen: dict[str, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            key, line = self._key(key_node, path), key_node.start_mark.line + 1
            if key in seen:
                what = "output" if path == "outputs" else "key"
                message = f"duplicate {what} '{key}' (first at line {seen[key]})"
                raise Location(self.file, line, _join(path, key)).error(message)
            seen[key] = line

    def _interpolate(self, text: str, path: str) -> str:
        def replace(match: re.Match[str]) -> str:
            escaped, body = match.group(1), match.group(2)
            if escaped:
                return "${" + (body + "}" if body is not None else "")
            if body is None:
                raise self.at(path).error("unterminated '${' (write '$${' for a literal '${')")
            variable = _VARIABLE.fullmatch(body)
            if variable is None:
                message = f"invalid reference '${{{body}}}': expected ${{VAR}} or ${{VAR:-default}}"
                raise self.at(path).error(message)
            name, default = variable.groups()
            if default is not None:
                return self.env.get(name) or default
            if name not in self.env:
                hint = f"set it, or write ${{{name}:-default}}"
                raise self.at(path).error(f"environment variable {name} is not set ({hint})")
            return self.env[name]

        return _REFERENCE.sub(replace, text)

    # --- typed access -----------------------------------------------------------------------------

    def mapping(
        self, value: Any, path: str, allowed: Sequence[str], required: Sequence[str] = ()
    ) -> dict[str, Any]:
        """`value` as a mapping whose keys are all in `allowed` and include `required`."""
        self.expect(value, dict, path)
        for key in value:
            if key not in allowed:
                where = self.at(_join(path, key))
                raise where.error(f"unknown key '{key}'", allowed, near=key)
        for key in required:
            if value.get(key) is None:
                raise self.at(path).error(f"missing required key '{key}'")
        return dict(value)

    def expect(self, value: Any, kind: type | tuple[type, ...], path: str) -> Any:
        if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _types(kind)):
            names = " or ".join(_KIND_NAMES.get(t, t.__name__) for t in _types(kind))
            raise self.at(path).error(f"expected {names}, got {_describe_kind(value)}")
        return value

    def string(self, value: Any, path: str) -> str:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)  # `user: 1234`, `database: 2024` are names, not numbers
        if not self.expect(value, str, path).strip():
            raise self.at(path).error("expected a non-empty string")
        return str(value)

    def integer(self, value: Any, path: str) -> int:
        if path in self.raw and isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
            return int(value)  # `port: ${PGPORT:-5432}` interpolates to a string
        return int(self.expect(value, int, path))

    def number(self, value: Any, path: str) -> float:
        if path in self.raw and isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        return float(self.expect(value, (int, float), path))

    def boolean(self, value: Any, path: str) -> bool:
        return bool(self.expect(value, bool, path))

    def choice(self, enum: type[_E], value: Any, path: str) -> _E:
        choices = [member.value for member in enum]
        text = self.string(value, path)
        for member in enum:
            if member.value == text:
                return member
        raise self.at(path).error(f"unknown value '{text}'", choices, near=text)

    def items(self, value: Any, path: str) -> list[tuple[str, Any]]:
        """A list as (item path, item) pairs."""
        return [(f"{path}[{i}]", item) for i, item in enumerate(self.expect(value, list, path))]


_KIND_NAMES: dict[type, str] = {
    dict: "a mapping",
    list: "a list",
    str: "a string",
    bool: "true or false",
    int: "an integer",
    float: "a number",
    type(None): "nothing (null)",
}


def _types(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _describe_kind(value: Any) -> str:
    for kind, name in _KIND_NAMES.items():
        if type(value) is kind:
            return name
    return f"a {type(value).__name__}"


def _get(mapping: Mapping[str, Any], key: str, default: Any = None) -> Any:
    """`mapping[key]`; an explicit null counts as absent."""
    value = mapping.get(key)
    return default if value is None else value


def _subset(mapping: Mapping[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    return {key: mapping[key] for key in keys if key in mapping}


def _optional(
    convert: Callable[[Any, str], _T], mapping: Mapping[str, Any], key: str, path: str
) -> _T | None:
    value = mapping.get(key)
    return None if value is None else convert(value, _join(path, key))


# --- recipe sections -----------------------------------------------------------------------------

_NAME = re.compile(r"[^.\s]+")
_OUTPUT_NAME = re.compile(r"[\w.-]+")


def _build_recipe(doc: _Document, data: Any, text: str) -> Recipe:
    doc.expect(data, dict, "")
    version = _version(doc, data)
    top = doc.mapping(data, "", TOP_KEYS, required=("source", "schemas", "outputs"))
    schemas = _schemas(doc, top["schemas"])
    source = _connection(doc, top["source"], "source", CONNECTION_KEYS)
    items = doc.items(_get(top, "restrictions", []), "restrictions")
    used = {schema for _, item in items if (schema := _schema_part(item)) is not None}
    restrictions = tuple(
        _restriction(doc, item, path, schemas, used, source.backend) for path, item in items
    )
    recipe = Recipe(
        path=doc.file,
        version=version,
        source=source,
        schemas=schemas,
        restrictions=restrictions,
        prune=doc.boolean(_get(top, "prune", True), "prune"),
        ordered=doc.boolean(_get(top, "ordered", True), "ordered"),
        include=_patterns(doc, _get(top, "include", []), "include", schemas),
        exclude=_patterns(doc, _get(top, "exclude", []), "exclude", schemas),
        upstream=doc.choice(Upstream, _get(top, "upstream", Upstream.ALL.value), "upstream"),
        outputs=_outputs(doc, top["outputs"], schemas),
        text=text,
        locations=dict(doc.locations),
    )
    return recipe


def _version(doc: _Document, data: dict[str, Any]) -> int:
    """Checked first, so a newer recipe says "unsupported version", not "unknown key"."""
    supported = ", ".join(map(str, SUPPORTED_VERSIONS))
    if data.get("version") is None:
        raise doc.at("").error(f"missing required key 'version' (supported: {supported})")
    version = doc.integer(data["version"], "version")
    if version not in SUPPORTED_VERSIONS:
        raise doc.at("version").error(f"unsupported version {version} (supported: {supported})")
    return version


def _schemas(doc: _Document, value: Any) -> tuple[str, ...]:
    items = doc.items(value, "schemas")
    if not items:
        raise doc.at("schemas").error("expected at least one schema name")
    names: list[str] = []
    for path, item in items:
        name = doc.string(item, path)
        if not _NAME.fullmatch(name):
            raise doc.at(path).error(f"invalid schema name '{name}' (no dots or spaces)")
        if name in names:
            raise doc.at(path).error(f"duplicate schema '{name}'")
        names.append(name)
    return tuple(names)


def _connection(doc: _Document, value: Any, path: str, allowed: Sequence[str]) -> ConnectionSpec:
    conn = doc.mapping(value, path, allowed)
    backend = _optional(doc.string, conn, "backend", path)
    if backend is not None:
        if backend.lower() not in ALIASES:
            raise doc.at(_join(path, "backend")).error(
                f"unknown backend '{backend}'", BACKEND_NAMES, backend
            )
        backend = ALIASES[backend.lower()]
    embedded = _optional(doc.string, conn, "embedded", path)
    backend = _check_server(doc, conn, path, backend, embedded)
    database = _optional(doc.string, conn, "database", path)
    if database is not None and backend not in DATABASE_LEVEL:
        message = f"'database' applies only to {', '.join(DATABASE_LEVEL)}"
        raise doc.at(_join(path, "database")).error(f"{message}, not {backend}")
    port = _optional(doc.integer, conn, "port", path)
    if port is not None and not 0 < port < 65536:
        raise doc.at(_join(path, "port")).error(f"port {port} is out of range (1-65535)")
    if embedded is None and port is None:
        port = facts(backend).default_port
    return ConnectionSpec(
        backend=backend,
        host=_optional(doc.string, conn, "host", path),
        port=port,
        user=_optional(doc.string, conn, "user", path),
        password=_password(doc, conn.get("password"), _join(path, "password"), backend),
        database=database,
        embedded=embedded,
        location=doc.at(path),
    )


def _check_server(
    doc: _Document, conn: dict[str, Any], path: str, backend: str | None, embedded: str | None
) -> str:
    """Either `embedded` or a server (`host`, with `backend`); returns the backend."""
    if embedded is not None:
        extra = [key for key in _SERVER_KEYS if conn.get(key) is not None]
        if extra:
            message = f"'{extra[0]}' cannot be used with 'embedded' (a local server directory)"
            raise doc.at(_join(path, extra[0])).error(message)
        if backend is not None and backend not in EMBEDDABLE:
            supported = ", ".join(EMBEDDABLE)
            message = f"an embedded server is {supported}: backend must be {supported} or omitted"
            raise doc.at(_join(path, "backend")).error(message)
        return backend or EMBEDDABLE[0]
    if conn.get("host") is None:
        message = "missing a connection: give 'host' (a server) or 'embedded' (a local directory)"
        raise doc.at(path).error(message)
    if backend is None:
        raise doc.at(path).error("missing required key 'backend'", BACKEND_NAMES)
    return backend


def _password(doc: _Document, value: Any, path: str, backend: str) -> str | None:
    """Only ``${VAR}`` references (with empty defaults at most): the file must hold no secret."""
    if value is None:
        return None
    raw = doc.raw.get(path, value)
    literal = isinstance(raw, str) and _REFERENCE.sub(_only_variable, raw)
    if not isinstance(raw, str) or literal:
        names = " or ".join(f"${{{v}}}" for v in facts(backend).password_variables)
        message = f"a literal password is refused: pass it through the environment, e.g. {names}"
        raise doc.at(path).error(message)
    return str(value)


def _only_variable(match: re.Match[str]) -> str:
    """Empty for a ``${VAR}`` / ``${VAR:-}`` reference; the literal text otherwise."""
    variable = _VARIABLE.fullmatch(match.group(2) or "")
    bare = not match.group(1) and variable is not None and not variable.group(2)
    return "" if bare else match.group(0)


def _restriction(
    doc: _Document,
    value: Any,
    path: str,
    schemas: Sequence[str],
    used: set[str],
    backend: str,
) -> Restriction:
    """One entry of `restrictions`; `used` are the schemas all entries name, `backend` the
    source's (its SQL dialect reads the `where:` strings)."""
    entry = doc.mapping(value, path, RESTRICTION_KEYS, required=("table",))
    table = _table_name(doc, entry["table"], _join(path, "table"), schemas, used)
    where = _where(doc, entry.get("where"), _join(path, "where"), backend)
    limit = _limit(doc, entry.get("limit"), _join(path, "limit"))
    order_by = _order_by(doc, entry.get("order_by"), _join(path, "order_by"))
    if order_by and limit is None:
        raise doc.at(_join(path, "order_by")).error("'order_by' needs 'limit' (it orders a top-N)")
    sample = _sample(doc, entry.get("sample"), _join(path, "sample"))
    if where is None and limit is None and sample is None:
        raise doc.at(path).error("a restriction needs at least one of 'where', 'limit', 'sample'")
    return Restriction(
        table=table,
        where=where,
        limit=limit,
        order_by=order_by,
        sample=sample,
        location=doc.at(path),
        table_location=doc.at(_join(path, "table")),
    )


def _schema_part(item: Any) -> str | None:
    """The schema a raw restriction entry names (``lab`` of ``table: lab.Session``)."""
    table = item.get("table") if isinstance(item, dict) else None
    return table.strip().split(".", 1)[0] if isinstance(table, str) and "." in table else None


def _table_name(
    doc: _Document, value: Any, path: str, schemas: Sequence[str], used: set[str]
) -> str:
    name = doc.string(value, path).strip()
    parts = name.split(".")
    if len(parts) not in (2, 3) or not all(_NAME.fullmatch(p) for p in parts):
        forms = "schema.Table, schema.table_name or schema.Master.Part"
        message = f"invalid table '{name}': expected {forms}"
        raise doc.at(path).error(message)
    if parts[0] not in schemas and doc.check_schemas:
        raise _missing_schema(doc, parts[0], name, path, schemas, used)
    return name


def _missing_schema(
    doc: _Document, schema: str, name: str, path: str, schemas: Sequence[str], used: set[str]
) -> RecipeError:
    """A restriction names a schema missing from `schemas`: another schema (add it), a typo
    here (a close entry other restrictions name too), or, without a server to tell, a typo
    here or in the close entry of `schemas`."""
    message = f"schema '{schema}' of '{name}' is not in `schemas` ({', '.join(schemas)})"
    near = difflib.get_close_matches(schema, schemas, n=1, cutoff=0.6)
    if not near:
        return doc.at(path).error(f"{message}: add it there")
    if near[0] in used:
        return doc.at(path).error(f"{message}: did you mean '{near[0]}'? (or add it there)")
    entry = f"schemas[{schemas.index(near[0])}]"
    return doc.at(path).error(
        f"{message}: correct {entry} '{near[0]}' (line {doc.at(entry).line}) to '{schema}', "
        f"or this name to '{near[0]}', or add '{schema}' to `schemas`"
    )


def _limit(doc: _Document, value: Any, path: str) -> int | None:
    if value is None:
        return None
    try:
        limit: int | None = doc.integer(value, path)
    except RecipeError:
        limit = None  # 1e40 (a string to YAML), 2.5, true
    if limit is None:
        problem = "must be a whole number of rows"
    elif limit < 1:
        problem = "must be at least 1"
    elif limit > MAX_LIMIT:
        problem = f"must be at most {MAX_LIMIT} (2^63 - 1)"
    else:
        return limit
    raise doc.at(path).error(f"'limit' {problem}, not {value}")


def _where(doc: _Document, value: Any, path: str, backend: str) -> Any:
    if value is None:
        return None
    if isinstance(value, list):
        if not value:
            raise doc.at(path).error("an empty list matches no rows; give at least one condition")
        return [
            _condition(doc, item, item_path, backend) for item_path, item in doc.items(value, path)
        ]
    return _condition(doc, value, path, backend)


def _condition(doc: _Document, value: Any, path: str, backend: str) -> dict[str, Any] | str:
    """A mapping (AND of equalities) or an SQL string (a condition in `backend`'s SQL)."""
    from .sqlcheck import condition_problem

    doc.expect(value, (dict, str), path)
    if isinstance(value, str):
        text = doc.string(value, path)
        problem = condition_problem(text, backend)
        if problem is not None:
            raise doc.at(path).error(f"{text!r} is {problem}")
        return text
    if not value:
        raise doc.at(path).error("an empty mapping restricts nothing; give attribute: value pairs")
    for key, item in value.items():
        if isinstance(item, (dict, list)):
            message = f"expected a single value, got {_describe_kind(item)}"
            hint = "; for alternatives use a list of mappings" if isinstance(item, list) else ""
            raise doc.at(_join(path, key)).error(message + hint)
    return dict(value)


def _order_by(doc: _Document, value: Any, path: str) -> tuple[str, ...]:
    """``attribute [ASC|DESC]`` items: a string (comma-separated) or a list of them."""
    from .sqlcheck import order_problem

    if value is None:
        return ()
    paths = [(path, value)] if isinstance(value, str) else doc.items(value, path)
    items = []
    for item_path, item in paths:
        text = doc.string(item, item_path)
        problem = order_problem(text)
        if problem is not None:
            raise doc.at(item_path).error(problem)
        items.append(text)
    return tuple(items)


def _sample(doc: _Document, value: Any, path: str) -> Sample | None:
    if value is None:
        return None
    spec = doc.mapping(value, path, SAMPLE_KEYS, required=("percent",))
    percent = doc.number(spec["percent"], _join(path, "percent"))
    if not 0 < percent <= 100:
        raise doc.at(_join(path, "percent")).error(f"percent must be in (0, 100], not {percent:g}")
    seed = doc.integer(_get(spec, "seed", 0), _join(path, "seed"))
    return Sample(percent=percent, seed=seed)


def _patterns(doc: _Document, value: Any, path: str, schemas: Sequence[str]) -> tuple[str, ...]:
    """Globs over ``schema.Table``; a schema part matching no schema is a typo."""
    if isinstance(value, str):
        value = [value]
    patterns = []
    for item_path, item in doc.items(value, path):
        pattern = doc.string(item, item_path)
        schema = pattern.split(".", 1)[0]
        if "." in pattern and not fnmatch.filter(schemas, schema):
            message = f"pattern '{pattern}' matches no schema in 'schemas'"
            raise doc.at(item_path).error(message, schemas, near=schema)
        patterns.append(pattern)
    return tuple(patterns)


def _outputs(doc: _Document, value: Any, schemas: Sequence[str]) -> tuple[Output, ...]:
    outputs = doc.expect(value, dict, "outputs")
    if not outputs:
        raise doc.at("outputs").error("expected at least one output (name: {type: ..., ...})")
    return tuple(_output(doc, name, spec, schemas) for name, spec in outputs.items())


def _output(doc: _Document, name: str, value: Any, schemas: Sequence[str]) -> Output:
    path = _join("outputs", name)
    if not _OUTPUT_NAME.fullmatch(name):
        raise doc.at(path).error(f"invalid output name '{name}' (letters, digits, _ . - only)")
    spec = doc.expect(value, dict, path)
    if spec.get("type") is None:
        types = [t.value for t in OutputType]
        raise doc.at(path).error("missing required key 'type'", types)
    kind = doc.choice(OutputType, spec["type"], _join(path, "type"))
    is_instance = kind is OutputType.INSTANCE
    allowed = INSTANCE_OUTPUT_KEYS if is_instance else FILE_OUTPUT_KEYS
    spec = doc.mapping(spec, path, allowed, required=() if is_instance else ("path",))
    if_exists = doc.choice(IfExists, _get(spec, "if_exists", "fail"), _join(path, "if_exists"))
    if if_exists is IfExists.APPEND and not is_instance:
        message = f"'append' applies only to instance outputs, not {kind.value}"
        raise doc.at(_join(path, "if_exists")).error(message, ["fail", "replace"])
    connection = None
    if is_instance:
        connection = _connection(doc, _subset(spec, CONNECTION_KEYS), path, CONNECTION_KEYS)
    return Output(
        name=name,
        type=kind,
        path=None if is_instance else _path(doc, spec["path"], _join(path, "path")),
        connection=connection,
        schema_map=_schema_map(doc, spec.get("schema_map"), _join(path, "schema_map"), schemas),
        if_exists=if_exists,
        location=doc.at(path),
        adopt=doc.boolean(_get(spec, "adopt", False), _join(path, "adopt")),
    )


def _path(doc: _Document, value: Any, path: str) -> str:
    """A file system path: a string (not a number), without NUL characters."""
    text = doc.expect(value, str, path)
    if not text.strip():
        raise doc.at(path).error("expected a non-empty path")
    if "\0" in text:
        raise doc.at(path).error("the path contains a NUL character")
    return str(text)


def _schema_map(doc: _Document, value: Any, path: str, schemas: Sequence[str]) -> dict[str, str]:
    if value is None:
        return {}
    renames: dict[str, str] = {}
    for source, target in doc.expect(value, dict, path).items():
        key_path = _join(path, source)
        if source not in schemas:
            message = f"schema '{source}' is not in 'schemas'"
            raise doc.at(key_path).error(message, schemas, near=source)
        target = doc.string(target, key_path)
        if target in renames.values():
            raise doc.at(key_path).error(f"two schemas are renamed to '{target}'")
        renames[source] = target
    return renames
