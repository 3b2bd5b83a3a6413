"""datajoint_core: the core of DataJoint 2.2 on MySQL and PostgreSQL.

>>> import datajoint_core as dj
>>> inst = dj.Instance(host="127.0.0.1", user="root", password="")   # doctest: +SKIP
"""

from __future__ import annotations

from . import errors
from .connection import Connection
from .errors import DataJointError, ThreadSafetyError
from .instance import Instance, config, conn
from .settings import Config

__version__ = "0.1.0"

__all__ = [
    "Config",
    "Connection",
    "DataJointError",
    "Instance",
    "ThreadSafetyError",
    "__version__",
    "config",
    "conn",
    "errors",
]
