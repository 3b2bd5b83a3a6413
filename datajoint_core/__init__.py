"""datajoint_core: the core of DataJoint 2.2 on MySQL and PostgreSQL.

>>> import datajoint_core as dj
>>> inst = dj.Instance(host="127.0.0.1", user="root", password="")   # doctest: +SKIP
>>> schema = inst.Schema("my_lab")                                     # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from . import errors
from .builtin_codecs import NpyRef, SchemaCodec
from .codecs import Codec, get_codec, list_codecs
from .condition import AndList, Not, Top
from .connection import Connection
from .context import config, conn
from .errors import DataJointError, ThreadSafetyError
from .expression import QueryExpression, U
from .graph.diagram import Diagram
from .insert import ValidationResult
from .instance import Instance
from .jobs import Job
from .schema import Schema, VirtualModule, list_schemas, virtual_schema
from .settings import Config
from .table import FreeTable, Table
from .user_tables import Compute, Computed, Entry, Imported, Ingest, Lookup, Manual, Part

__version__ = "0.1.0"

__all__ = [
    "AndList",
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
    "Table",
    "ThreadSafetyError",
    "Top",
    "U",
    "ValidationResult",
    "VirtualModule",
    "__version__",
    "config",
    "conn",
    "errors",
    "get_codec",
    "list_codecs",
    "list_schemas",
    "virtual_schema",
]


def __getattr__(name: str) -> Any:
    """``dj.MatCell`` and ``dj.MatStruct`` without importing numpy with the package."""
    if name in ("MatCell", "MatStruct"):
        from . import blob

        return getattr(blob, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
