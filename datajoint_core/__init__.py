"""datajoint_core: the core of DataJoint 2.2 on MySQL and PostgreSQL.

>>> import datajoint_core as dj
>>> inst = dj.Instance(host="127.0.0.1", user="root", password="")   # doctest: +SKIP
>>> schema = inst.Schema("my_lab")                                     # doctest: +SKIP

``Diagram``, ``cli``, ``MatCell`` / ``MatStruct`` (numpy) and the modules ``diagram``,
``deploy``, ``migrate`` and ``schemas`` are loaded on first use, so that ``import datajoint_core``
stays fast.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING, Any

from . import errors
from .autopopulate import AutoPopulate
from .builtin_codecs import NpyRef, SchemaCodec
from .codecs import Codec, get_codec, list_codecs
from .condition import AndList, Not, Top
from .connection import Connection
from .context import config, conn
from .errors import DataJointError, ThreadSafetyError
from .expression import QueryExpression, U
from .insert import ValidationResult
from .instance import Instance
from .jobs import Job
from .logging import logger
from .schema import Schema, VirtualModule, list_schemas, virtual_schema
from .settings import Config
from .spark import SparkAdapter
from .table import FreeTable, Table
from .user_tables import Compute, Computed, Entry, Imported, Ingest, Lookup, Manual, Part

if TYPE_CHECKING:
    from .blob import MatCell, MatStruct
    from .cli import cli
    from .graph.diagram import Diagram

__version__ = "0.1.0"

_LAZY: dict[str, tuple[str, str | None]] = {  # name -> (module, attribute; None: the module)
    "Diagram": (".diagram", "Diagram"),
    "diagram": (".diagram", None),
    "cli": (".cli", "cli"),
    "MatCell": (".blob", "MatCell"),
    "MatStruct": (".blob", "MatStruct"),
    "deploy": (".deploy", None),
    "migrate": (".migrate", None),
    "schemas": (".schemas", None),
    "utils": (".utils", None),
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module_name, attribute = _LAZY[name]
    # a submodule imported already is bound on the package: the same object, even if
    # sys.modules was cleared since (as some test suites do)
    short = module_name.lstrip(".")
    module = globals().get(short) if "." not in short else None
    if not isinstance(module, ModuleType):
        module = importlib.import_module(module_name, __name__)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value  # once: later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "AndList",
    "AutoPopulate",
    "Codec",
    "Compute",
    "Computed",
    "Config",
    "Connection",
    "DataJointError",
    "Diagram",
    "Entry",
    "FreeTable",
    "Imported",
    "Ingest",
    "Instance",
    "Job",
    "Lookup",
    "Manual",
    "MatCell",
    "MatStruct",
    "Not",
    "NpyRef",
    "Part",
    "QueryExpression",
    "Schema",
    "SchemaCodec",
    "SparkAdapter",
    "Table",
    "ThreadSafetyError",
    "Top",
    "U",
    "ValidationResult",
    "VirtualModule",
    "__version__",
    "cli",
    "config",
    "conn",
    "deploy",
    "errors",
    "get_codec",
    "list_codecs",
    "list_schemas",
    "logger",
    "migrate",
    "virtual_schema",
]
