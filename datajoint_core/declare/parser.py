"""Parse DataJoint table definitions into plain specs (pure: no database, no I/O).

A definition is an optional ``# table comment`` line, the primary-key attributes, a ``---``
separator and the secondary attributes::

    # experimental subject
    subject_id : int32            # unique id
    ---
    species = "mouse" : varchar(32)
    -> [nullable] Lab
    index(species)

Every error is a :class:`~datajoint_core.errors.DeclarationError` that names the table, the
1-based line number and the offending line.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass

from datajoint_core.errors import DeclarationError

__all__ = [
    "CORE_TYPES",
    "AttributeSpec",
    "ForeignKeySpec",
    "IndexSpec",
    "TableSpec",
    "enum_values",
    "normalise_type",
    "parse_definition",
    "split_type",
]

_INTEGERS = frozenset({"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"})
_PLAIN_CORE = _INTEGERS | {"float32", "float64", "bool", "date", "uuid", "json", "bytes"}
_PARAMETRIC = frozenset({"decimal", "char", "varchar", "datetime", "enum"})
CORE_TYPES: frozenset[str] = _PLAIN_CORE | _PARAMETRIC | {"<blob>"}  # any <codec> is accepted

# Native SQL types (MySQL and PostgreSQL spellings), accepted with core=False.
_NATIVE_NUMERIC = frozenset(
    {"tinyint", "smallint", "mediumint", "int", "integer", "bigint", "float", "double"}
    | {"double precision", "real", "numeric", "decimal"}
)
_NATIVE_OTHER = frozenset(
    {"serial", "smallserial", "bigserial", "boolean", "bit", "jsonb", "bytea"}
    | {"text", "tinytext", "mediumtext", "longtext", "character", "character varying"}
    | {"binary", "varbinary", "blob", "tinyblob", "mediumblob", "longblob"}
    | {"time", "timestamp", "timestamptz", "year", "interval"}
    | {"timestamp with time zone", "timestamp without time zone"}
    | {"time with time zone", "time without time zone"}
)
_NUMERIC_MODIFIERS = ("unsigned", "zerofill", "auto_increment")

_NAME = re.compile(r"[a-z][a-z0-9_]*")
_HIDDEN_NAME = re.compile(r"_[a-z0-9_]*")
_ANY_CASE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_CODEC = re.compile(r"<[A-Za-z_][A-Za-z0-9_]*(@[A-Za-z0-9_-]*)?>")
_SEPARATOR = re.compile(r"(-{3,}|_{3,})\s*(#.*)?")
_INDEX_START = re.compile(r"(unique\s+)?index\s*\(", re.IGNORECASE)
_INDEX = re.compile(r"(?P<unique>unique\s+)?index\s*\((?P<args>[^)]*)\)\s*(#.*)?", re.IGNORECASE)
_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_FK_REF = re.compile(rf"(?P<ref>{_IDENT}(?:\.{_IDENT})*?)(?:\.proj\s*\((?P<args>.*)\))?")
_PROJ_ARG = re.compile(r"(?P<new>[a-z][a-z0-9_]*)\s*=\s*(?P<q>['\"])(?P<old>[a-z][a-z0-9_]*)(?P=q)")
_FK_OPTIONS = frozenset({"nullable", "unique"})


@dataclass(frozen=True)
class AttributeSpec:
    """One ``name [= default] : type [# comment]`` line."""

    name: str
    type: str  # normalised core type ("varchar(255)", "<blob>") or native type as written
    core: bool  # False for a native SQL type
    nullable: bool  # default is null
    default: str | None  # SQL literal as written; None when absent or null
    comment: str
    in_key: bool
    line: int
    written: str = ""  # the type as the definition wrote it, kept in the column comment


@dataclass(frozen=True)
class ForeignKeySpec:
    """One ``-> [options] Ref[.proj(new='old', ...)]`` line.

    ``expression`` is a Python expression, evaluated in the declaration context as the
    reference does: ``Subject``, ``lab.Subject``, ``master``, ``self.source``, ``(Parent)``.
    ``ref`` names the table for the plain ``Ref[.proj(new='old')]`` form (``rename`` then
    holds the renames) and is the whole expression otherwise.
    """

    ref: str  # the expression as written, without its options and comment
    rename: tuple[tuple[str, str], ...]  # (new_name, old_name) pairs
    nullable: bool
    unique: bool
    in_key: bool
    line: int
    expression: str = ""  # the whole reference as written, evaluated to find the parent


@dataclass(frozen=True)
class IndexSpec:
    """One ``[unique] index(a, b)`` line."""

    attributes: tuple[str, ...]
    unique: bool
    line: int


@dataclass(frozen=True)
class TableSpec:
    """A parsed definition: items in written order (key section first), then indexes."""

    comment: str
    items: tuple[AttributeSpec | ForeignKeySpec, ...]
    indexes: tuple[IndexSpec, ...]


class _Invalid(ValueError):
    """A problem with one line; parse_definition adds the table, line number and text."""


# --- quote-aware scanning --------------------------------------------------------------------


def _scan(text: str) -> Iterator[tuple[int, str, bool]]:
    """Yield (index, char, quoted) per character; quote delimiters count as quoted.

    Handles '...' and "..." with backslash escapes; a doubled quote ('it''s') simply closes
    and reopens. Raises _Invalid on an unterminated quote, once scanning reaches the end.
    """
    quote = ""
    escaped = False
    for i, ch in enumerate(text):
        if quote:
            yield i, ch, True
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = ""
        else:
            if ch in "'\"":
                quote = ch
            yield i, ch, bool(quote)
    if quote:
        raise _Invalid("unterminated quote")


def _find_unquoted(text: str, chars: str, start: int = 0) -> int:
    """Index of the first character of ``chars`` outside quotes at or after ``start``, or -1."""
    for i, ch, quoted in _scan(text):
        if i >= start and not quoted and ch in chars:
            return i
    return -1


def _split_unquoted(text: str, sep: str) -> list[str]:
    """Split on ``sep`` outside quotes."""
    parts: list[str] = []
    begin = 0
    for i, ch, quoted in _scan(text):
        if ch == sep and not quoted:
            parts.append(text[begin:i])
            begin = i + 1
    parts.append(text[begin:])
    return parts


def _canonical(text: str) -> str:
    """Lower-case outside quotes; collapse spaces, dropping those around '(', ',' and ')'."""
    out: list[str] = []
    space = False
    for _, ch, quoted in _scan(text.strip()):
        if not quoted and ch.isspace():
            space = True
            continue
        if space and out[-1] not in "(," and (quoted or ch not in "(),"):
            out.append(" ")
        space = False
        out.append(ch if quoted else ch.lower())
    return "".join(out)


# --- types -----------------------------------------------------------------------------------


def split_type(type_: str) -> tuple[str, tuple[str, ...]]:
    """Split a type into its base name and parameters (quote-aware).

    >>> split_type("decimal(10,2)")
    ('decimal', ('10', '2'))
    >>> split_type("enum('a','b')")
    ('enum', ("'a'", "'b'"))

    Codecs and unparameterised types come back whole with ``()``; empty parentheses give one
    empty parameter. Words after the parameters stay in the base:
    ``"tinyint(3) unsigned"`` -> ``("tinyint unsigned", ("3",))``.
    Raises ValueError on an unclosed parenthesis or quote.
    """
    type_ = type_.strip()
    open_ = type_.find("(")
    if type_.startswith("<") or open_ < 0:
        return type_, ()
    close = _find_unquoted(type_, ")", open_ + 1)
    if close < 0:
        raise _Invalid(f"unclosed '(' in type '{type_}'")
    base = f"{type_[:open_].strip()} {type_[close + 1 :].strip()}".strip()
    return base, tuple(arg.strip() for arg in _split_unquoted(type_[open_ + 1 : close], ","))


def _is_uint(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _is_quoted(text: str) -> bool:
    """True for one complete '...' or "..." literal."""
    if len(text) < 2 or text[0] not in "'\"" or text[-1] != text[0]:
        return False
    return all(quoted for _, _, quoted in _scan(text))


def _core_type(base: str, args: tuple[str, ...]) -> str:
    """Validate a core type's parameters and return its normalised spelling."""
    if base in _PLAIN_CORE:
        if args:
            raise _Invalid(f"type '{base}' takes no parameters")
        return base
    if base == "datetime":
        if not args:
            return base
        if len(args) != 1 or not _is_uint(args[0]) or int(args[0]) > 6:
            raise _Invalid("datetime precision must be one integer from 0 to 6")
        return f"datetime({int(args[0])})"
    if base in ("char", "varchar"):
        if len(args) != 1 or not _is_uint(args[0]) or int(args[0]) == 0:
            raise _Invalid(f"{base} needs one positive length, e.g. {base}(32)")
        return f"{base}({int(args[0])})"
    if base == "decimal":
        return _decimal(args)
    if not args or not all(_is_quoted(arg) for arg in args):  # enum
        raise _Invalid("enum needs one or more quoted values, e.g. enum('a', 'b')")
    return f"enum({','.join(args)})"


def _decimal(args: tuple[str, ...]) -> str:
    if 1 <= len(args) <= 2 and all(_is_uint(arg) for arg in args):
        precision, scale = int(args[0]), int(args[-1]) if len(args) == 2 else 0
        if 1 <= precision <= 65 and scale <= precision:
            return f"decimal({','.join(str(int(arg)) for arg in args)})"
    raise _Invalid("decimal needs (p) or (p,s) with 0 <= s <= p <= 65, p >= 1")


def _is_native(base: str, args: tuple[str, ...]) -> bool:
    if not all(_is_uint(arg) for arg in args):
        return False
    words = base.split()
    while len(words) > 1 and words[-1] in _NUMERIC_MODIFIERS:
        words.pop()
        if " ".join(words) in _NATIVE_NUMERIC:
            return True
    return base in _NATIVE_NUMERIC or base in _NATIVE_OTHER


def _normalise_type(text: str) -> tuple[str, bool]:
    """Return (normalised type, core) for the text after the colon."""
    if not text:
        raise _Invalid("missing type after ':'")
    if text.startswith("<"):
        if not _CODEC.fullmatch(text):
            raise _Invalid(f"invalid codec '{text}', expected <name> or <name@store>")
        return text, True
    canonical = _canonical(text)
    base, args = split_type(canonical)
    if base in CORE_TYPES:
        return _core_type(base, args), True
    if _is_native(base, args):
        return canonical, False
    raise _Invalid(f"unknown type '{text}'")


# --- lines -----------------------------------------------------------------------------------


def _attribute_name(text: str) -> str:
    if _NAME.fullmatch(text):
        return text
    if _ANY_CASE_NAME.fullmatch(text):
        raise _Invalid(f"attribute name '{text}' must be lowercase")
    raise _Invalid(f"invalid attribute name '{text}'")


def _parse_attribute(line: str, in_key: bool, number: int, platform: bool = False) -> AttributeSpec:
    colon = _find_unquoted(line, ":#")
    if colon < 0 or line[colon] == "#":
        raise _Invalid("cannot parse line, expected 'name [= default] : type [# comment]'")
    name, equals, default = line[:colon].partition("=")
    name = name.strip()
    name = name if platform and _HIDDEN_NAME.fullmatch(name) else _attribute_name(name)
    default = default.strip()
    if equals and not default:
        raise _Invalid("missing default value after '='")
    rest = line[colon + 1 :]
    hash_ = _find_unquoted(rest, "#")
    type_text, comment = (rest[:hash_], rest[hash_ + 1 :]) if hash_ >= 0 else (rest, "")
    written = type_text.strip()
    type_, core = _normalise_type(written)
    nullable = default.lower() == "null"
    if nullable and in_key:
        raise _Invalid(f"primary-key attribute '{name}' cannot be nullable")
    if comment.strip().startswith(":"):
        raise _Invalid("an attribute comment must not start with ':'")
    value = default if equals and not nullable else None
    if value is not None and _is_blob(type_, core):
        raise _Invalid("the default value of a blob attribute can only be null")
    return AttributeSpec(
        name, type_, core, nullable, value, comment.strip(), in_key, number, written
    )


def _is_blob(type_: str, core: bool) -> bool:
    """Types stored as a blob column, which the reference lets default only to null."""
    if core:
        return type_ == "bytes" or type_.startswith(("<blob", "<attach"))
    return "blob" in type_


def _fk_options(text: str) -> frozenset[str]:
    options = frozenset(option.strip().lower() for option in text.split(",")) - {""}
    unknown = sorted(options - _FK_OPTIONS)
    if unknown:
        raise _Invalid(f"invalid foreign key option '{unknown[0]}', expected nullable or unique")
    return options


def _parse_proj(args: str) -> tuple[tuple[str, str], ...]:
    if not args.strip():
        return ()
    pairs: list[tuple[str, str]] = []
    for arg in (part.strip() for part in _split_unquoted(args, ",")):
        match = _PROJ_ARG.fullmatch(arg)
        if not match:
            raise _Invalid(f"invalid proj argument '{arg}', expected new_name='old_name'")
        if match["new"] in (new for new, _ in pairs):
            raise _Invalid(f"attribute '{match['new']}' renamed twice in proj")
        pairs.append((match["new"], match["old"]))
    return tuple(pairs)


def _parse_foreign_key(line: str, in_key: bool, number: int) -> ForeignKeySpec:
    body = line[2:].strip()
    hash_ = _find_unquoted(body, "#")
    body = body[:hash_].rstrip() if hash_ >= 0 else body
    options: frozenset[str] = frozenset()
    if body.startswith("["):
        close = body.find("]")
        if close < 0:
            raise _Invalid("unclosed '[' in foreign key options")
        options, body = _fk_options(body[1:close]), body[close + 1 :].strip()
    match = _FK_REF.fullmatch(body)
    if match is None:
        try:
            ast.parse(body, mode="eval")
        except SyntaxError:
            raise _Invalid(f"invalid foreign key reference '{body}'") from None
    rename = _parse_proj(match["args"]) if match and match["args"] is not None else ()
    nullable = "nullable" in options
    if nullable and in_key:
        raise _Invalid("a foreign key in the primary key cannot be nullable")
    ref = match["ref"] if match else body
    return ForeignKeySpec(ref, rename, nullable, "unique" in options, in_key, number, body)


def _parse_index(line: str, number: int) -> IndexSpec:
    match = _INDEX.fullmatch(line)
    if not match:
        raise _Invalid("cannot parse index, expected '[unique] index(attr, ...)'")
    names = match["args"].split(",") if match["args"].strip() else []
    if not names:
        raise _Invalid("index needs at least one attribute")
    attributes = tuple(_attribute_name(name.strip()) for name in names)
    return IndexSpec(attributes, bool(match["unique"]), number)


HIDDEN_NAME_MESSAGE = (
    "starts with an underscore. Names with leading underscore are reserved for "
    "platform-managed columns (e.g. _job_start_time, _singleton). Use a regular attribute "
    "name; if you need to control visibility at the call site, use proj()."
)


def _parse_item(
    line: str, in_key: bool, number: int, platform: bool = False
) -> AttributeSpec | ForeignKeySpec | IndexSpec:
    if line.startswith("->"):
        return _parse_foreign_key(line, in_key, number)
    if _INDEX_START.match(line):
        return _parse_index(line, number)
    if line.startswith("_") and not platform:
        raise _Invalid(f"attribute name {HIDDEN_NAME_MESSAGE}")
    return _parse_attribute(line, in_key, number, platform)


# --- definitions -----------------------------------------------------------------------------


SINGLETON = "_singleton = 1 : bool  # singleton primary key"
JOB_METADATA = (
    "_job_start_time = null : datetime(3)  # when computation began",
    "_job_duration = null : float32  # computation duration in seconds",
    '_job_version = "" : varchar(64)  # code version',
)
PROVENANCE = "_prov = null : json  # extrinsic provenance for a row that entered from outside"


def parse_definition(
    definition: str, table: str = "table", platform: tuple[str, ...] = ()
) -> TableSpec:
    """Parse a DataJoint definition; ``table`` names the table in error messages.

    A definition without primary-key attributes declares a singleton table: the hidden key
    ``_singleton`` (always 1) holds it to one row. ``platform`` lines (hidden attributes the
    tier adds, such as :data:`JOB_METADATA`) are appended to the secondary attributes.

    >>> spec = parse_definition("id : int32\\n---\\nnote = '' : varchar(8)  # free text")
    >>> [(item.name, item.type, item.in_key) for item in spec.items]
    [('id', 'int32', True), ('note', 'varchar(8)', False)]
    """
    comment = ""
    items: list[AttributeSpec | ForeignKeySpec] = []
    indexes: list[IndexSpec] = []
    names: set[str] = set()
    in_key, first = True, True
    for number, raw in enumerate(definition.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        try:
            if line.startswith("#"):
                if first:
                    comment = _table_comment(line)
            elif _SEPARATOR.fullmatch(line):
                in_key = _separate(in_key, items)
            else:
                item = _parse_item(line, in_key, number)
                if isinstance(item, IndexSpec):
                    indexes.append(item)
                else:
                    _check_duplicate(item, names)
                    items.append(item)
        except _Invalid as err:
            raise DeclarationError(f'{table}: line {number}: "{line}": {err}') from None
        first = False
    if not any(item.in_key for item in items):
        items.insert(0, _parse_attribute(SINGLETON, True, 0, platform=True))
    for line in platform:
        item = _parse_attribute(line, False, 0, platform=True)
        if item.name not in names:
            items.append(item)
    return TableSpec(comment, tuple(items), tuple(indexes))


def _table_comment(line: str) -> str:
    comment = line[1:].strip()
    if comment.startswith(":"):  # as in DataJoint: ':' prefixes are reserved for type tags
        raise _Invalid("table comment must not start with ':'")
    return comment


def _separate(in_key: bool, items: list[AttributeSpec | ForeignKeySpec]) -> bool:
    """A '---' line: the secondary attributes follow (a second one changes nothing)."""
    return False


def _check_duplicate(item: AttributeSpec | ForeignKeySpec, names: set[str]) -> None:
    if isinstance(item, AttributeSpec):
        if item.name in names:
            raise _Invalid(f"duplicate attribute '{item.name}'")
        names.add(item.name)


def normalise_type(text: str) -> tuple[str, bool]:
    """``(normalised type, is_core)`` for a type as written; raises ValueError if unknown.

    >>> normalise_type("VARCHAR( 32 )")
    ('varchar(32)', True)
    """
    return _normalise_type(text.strip())


def enum_values(type_: str) -> tuple[str, ...]:
    """The unquoted values of an enum type: ``"enum('a','b')"`` -> ``('a', 'b')``."""
    _, args = split_type(type_)
    return tuple(arg[1:-1].replace(arg[0] * 2, arg[0]) for arg in args)
