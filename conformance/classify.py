"""Classify a failure of the reference's test suite on datajoint_core (pure; unit-tested).

A heuristic over the failure's text (the crash message and the full traceback pytest printed) and
two facts the results plugin recorded about the test's source. The first rule that matches wins:

``a`` reference internals
    the shim refused a private module path (``datajoint.heading``), a name with a leading
    underscore or a private reference module was imported or looked up (``from datajoint.instance
    import _load_thread_safe``, ``dj.dependencies``), or a ``unittest.mock`` patch / call assertion
    on an implementation detail failed, or the test's own code sets private attributes of objects
    to mocks (``expr._heading = MagicMock()``).
``b`` needs populate()
    the failing traceback runs through ``populate`` / ``key_source`` / ``jobs`` / ``progress``
    (a fixture's ``schema.jobs`` clean-up counts), or the test's own code calls ``populate`` /
    ``make`` / ``key_source`` / ``jobs`` / ``progress`` (then the group says what failed first).
``e`` environment
    a third-party module or the installed ``datajoint`` distribution's metadata is missing, or an
    assertion compares text that differs only in the package's name (``datajoint.errors.X: ...``
    where ours reads ``datajoint_core.errors.X: ...``, the same message).
``c`` missing public API
    a public module datajoint_core lacks, an ``AttributeError`` on a public name, a method or an
    attribute, an ``ImportError`` of a public name, a ``TypeError`` about the call signature
    (unexpected keyword, wrong number of arguments), a failed ``assert hasattr(...)``, or
    ``NotImplementedError``.
``d`` behavioural difference
    everything else: an assertion failed, a different exception or value, an error from our code.
    Failures that expect pydantic's own types of ``dj.config`` (``pydantic.ValidationError``,
    ``SecretStr``) share one group.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from conformance.plugins.dj_alias import MISSING_MARK, PRIVATE_MARK, PUBLIC_MODULES

CLASSES = {
    "a": "reference internals (private modules, private names, mocks)",
    "b": "needs populate() / make / key_source / jobs",
    "c": "missing public API",
    "d": "behavioural difference",
    "e": "test environment",
}

# Modules of datajoint 2.3.5 that are not public module paths (see dj_alias.PUBLIC_MODULES).
PRIVATE_MODULES = frozenset(
    {
        "adapters",
        "declare",
        "dependencies",
        "hash_registry",
        "heading",
        "lineage",
        "preview",
        "provenance",
        "staged_insert",
        "storage",
        "types",
        "utils",
        "version",
    }
)

POPULATE_CALL = re.compile(
    r"\.(?P<call>populate|jobs|progress)\b|\b(?P<name>key_source|AutoPopulate)\b"
    r"|attribute '(?P<attr>populate|jobs|key_source|make|progress)'"
)
_MOCK = re.compile(r"does not have the attribute|Expected '[^']+' to (?:be|have been) called")
_NO_ATTR = re.compile(
    r"AttributeError: (?:module '(?P<module>[\w.]+)'|'(?P<type>[\w.]+)' object"
    r"|type object '(?P<cls>[\w.]+)') has no attribute '(?P<name>\w+)'"
)
_CANNOT_IMPORT = re.compile(r"cannot import name '(?P<name>\w+)' from '(?P<module>[\w.]+)'")
_SIGNATURE = re.compile(
    r"TypeError: (?P<func>[\w.<>]+)\(\) (?P<what>got an unexpected keyword argument '(?P<kw>\w+)'"
    r"|takes .* positional arguments? but .* given|missing \d+ required .*argument.*"
    r"|got multiple values for argument .*)"
)
# An AttributeError on a value of one of these types means a different return value, not a
# missing API: ``'tuple' object has no attribute 'tolist'`` (we returned a tuple, not an array).
VALUE_TYPES = frozenset(
    {"tuple", "list", "dict", "str", "int", "float", "bytes", "NoneType", "bool", "set"}
    | {"DataFrame", "Series", "ndarray", "generator", "Decimal", "UUID", "datetime", "date"}
)
_HASATTR = re.compile(r"where False = hasattr\((?P<owner>[^,]+), '(?P<name>\w+)'\)")
_MODULE_NOT_FOUND = re.compile(r"No module named '(?P<name>[\w.]+)'")
_EXCEPTION_LINE = re.compile(r"^E\s+(?P<line>\S.*)$", re.MULTILINE)


@dataclass(frozen=True)
class Failure:
    """What the classifier reads about one failed test."""

    message: str  # the crash line, e.g. "TypeError: f() got an unexpected keyword argument 'x'"
    longrepr: str = ""  # the full failure text pytest printed (traceback and source lines)
    populate_in_test: bool = False  # the test function's own source calls populate & co.
    phase: str = ""  # setup, call, teardown or collect
    mocks_internals: bool = False  # the test's own source sets private attributes to mocks


@dataclass(frozen=True)
class Verdict:
    cls: str  # one of CLASSES
    group: str  # what is missing or different, shared by failures with the same cause
    reason: str  # one line: the exception message


def _one_line(text: str, limit: int = 240) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _reason(failure: Failure) -> str:
    message = failure.message.strip()
    if not message:
        found = _EXCEPTION_LINE.findall(failure.longrepr)
        message = found[-1] if found else (failure.longrepr.strip().splitlines() or [""])[-1]
    return _one_line(re.sub(r"^E\s+", "", message))


def _signal(failure: Failure) -> str:
    """The crash message, the exception lines (``E ...``) and each frame's failing line (``> ...``).

    Only these: the rest of a traceback is the surrounding source, which may mention anything.
    """
    lines = [
        line
        for line in failure.longrepr.splitlines()
        if line.startswith(("E ", ">")) or line.lstrip().startswith(("E ", "> "))
    ]
    return "\n".join([failure.message, *lines])


def _is_private_module(dotted: str) -> bool:
    parts = dotted.split(".")
    if parts[0] not in ("datajoint", "datajoint_core"):
        return False
    sub = ".".join(parts[1:])
    return bool(sub) and sub not in PUBLIC_MODULES


def _dj_module(name: str) -> str:
    """``datajoint_core.x`` spelled as the suite wrote it: ``dj.x`` (``dj`` alone for the top)."""
    return "dj" + name.removeprefix("datajoint_core").removeprefix("datajoint")


def classify(failure: Failure) -> Verdict:
    """The class, group and one-line reason of one failure (see the module docstring)."""
    text = _signal(failure)
    reason = _reason(failure)

    # (a) reference internals
    if PRIVATE_MARK in text:
        found = _MODULE_NOT_FOUND.search(text)
        name = found["name"] if found else "a private module"
        return Verdict("a", f"imports private module {name}", reason)
    cannot = _CANNOT_IMPORT.search(text)
    if cannot and (cannot["name"].startswith("_") or cannot["name"] in PRIVATE_MODULES):
        what = f"{_dj_module(cannot['module'])}.{cannot['name']}"
        return Verdict("a", f"imports private name {what}", reason)
    attr = _NO_ATTR.search(text)
    if attr and (
        attr["name"].startswith("_")
        or (attr["module"] and attr["name"] in PRIVATE_MODULES)
        or (attr["module"] and _is_private_module(attr["module"]))
    ):
        owner = _dj_module(attr["module"]) if attr["module"] else attr["type"] or attr["cls"]
        return Verdict("a", f"uses private attribute {owner}.{attr['name']}", reason)
    if _MOCK.search(text):
        return Verdict("a", "mocks an implementation detail", reason)
    if failure.mocks_internals:
        return Verdict("a", "sets private attributes to mocks", reason)

    # (b) populate and its machinery
    call = POPULATE_CALL.search(text)
    if call:
        token = call["call"] or call["name"] or call["attr"]
        where = " in a fixture" if failure.phase in ("setup", "teardown") else ""
        return Verdict("b", f"fails on {token}{where}", reason)
    if failure.populate_in_test:
        first = _other(text, failure, reason)
        return Verdict("b", f"the test uses populate; fails first on: {first.group}", reason)
    return _other(text, failure, reason)


def _other(text: str, failure: Failure, reason: str) -> Verdict:
    """Classes e, c and d (after a and b are ruled out)."""
    attr = _NO_ATTR.search(text)
    cannot = _CANNOT_IMPORT.search(text)

    # (e) the test environment
    missing = _MODULE_NOT_FOUND.search(text)
    if "PackageNotFoundError" in text:
        return Verdict("e", "the datajoint distribution metadata", reason)
    if missing and MISSING_MARK not in text and not missing["name"].startswith("datajoint"):
        return Verdict("e", f"third-party module {missing['name']}", reason)
    if _only_the_package_name_differs(failure.longrepr):
        return Verdict("e", "the package's name in the compared text (datajoint_core)", reason)
    ours_types = ("ConfigError", "UnknownSettingError", "SecretStr")
    if _PYDANTIC.search(failure.longrepr) and any(t in text for t in ours_types):
        return Verdict(
            "d",
            "pydantic's own types of dj.config (ValidationError, SecretStr); ours raise "
            "ConfigError, a ValueError as pydantic's is",
            reason,
        )

    # (c) missing public API
    if MISSING_MARK in text and missing:
        return Verdict("c", f"module {missing['name']}", reason)
    signature = _SIGNATURE.search(text)
    if signature:
        func = signature["func"]
        if signature["kw"]:
            return Verdict("c", f"{func}({signature['kw']}=...)", reason)
        return Verdict("c", f"{func}() signature", reason)
    if attr and attr["type"] in VALUE_TYPES:
        return Verdict(
            "d",
            f"a {attr['type']} where the reference returns a value with .{attr['name']}",
            reason,
        )
    if attr:
        owner = _dj_module(attr["module"]) if attr["module"] else attr["type"] or attr["cls"]
        return Verdict("c", f"{owner}.{attr['name']}", reason)
    if cannot:
        return Verdict("c", f"{_dj_module(cannot['module'])}.{cannot['name']}", reason)
    hasattr_ = _HASATTR.search(text)
    if hasattr_:
        owner = re.sub(r"<class '(?:[\w]+\.)*(\w+)'>", r"\1", hasattr_["owner"])
        return Verdict("c", f"{owner}.{hasattr_['name']}", reason)
    if "NotImplementedError" in failure.message:
        return Verdict("c", "not implemented: " + reason, reason)

    # (d) a behavioural difference
    return Verdict("d", _behaviour_group(reason), reason)


_DIFF_LINE = re.compile(r"^E\s+(?P<sign>[-+]) (?P<text>\S.*)$", re.MULTILINE)
_PYDANTIC = re.compile(r"raises\(ValidationError\b|isinstance\([^\n]*, SecretStr\)")


def _only_the_package_name_differs(longrepr: str) -> bool:
    """An assertion diff whose lines differ only by ``datajoint_core`` against ``datajoint``."""
    lines: dict[str, list[str]] = {"-": [], "+": []}
    for found in _DIFF_LINE.finditer(longrepr):
        lines[found["sign"]].append(found["text"].strip())
    minus, plus = lines["-"], lines["+"]
    if not minus or len(minus) != len(plus) or minus == plus:
        return False

    def renamed(found: list[str]) -> list[str]:
        return [re.sub(r"\bdatajoint_core\b", "datajoint", line) for line in found]

    return renamed(minus) == renamed(plus)


def _behaviour_group(reason: str) -> str:
    """Failures that differ only in values share a group: numbers and quoted text are masked."""
    masked = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", reason)
    masked = re.sub(r"array\(.*|\{.{40,}", "…", masked)  # long values: the rest of the line
    masked = re.sub(r"\b0x[0-9a-f]+\b|\b\d+(?:\.\d+)?\b", "N", masked)
    return _one_line(masked, 120)
