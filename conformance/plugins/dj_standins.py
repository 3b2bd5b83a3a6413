"""Look-ahead only: stand-ins for public API datajoint_core lacks (``--stand-ins``).

Nearly every database test of the suite first fails in its fixtures on one missing call,
``dj.Connection(host="h:port", user=..., password=...)``, which hides what would fail next. This
plugin replaces the attribute ``datajoint_core.Connection`` *in the pytest subprocess only* with
a subclass that accepts the reference's signature and builds the connection from a copy of the
global config. Runs with it are labelled look-ahead, kept apart from the real results, and never
count towards the metric. Nothing in datajoint_core is changed on disk.
"""

from __future__ import annotations

from typing import Any

import datajoint_core
from datajoint_core.connection import Connection as _CoreConnection
from datajoint_core.instance import global_config
from datajoint_core.settings import Config


class Connection(_CoreConnection):
    """``Connection(host, user, password, port=None, use_tls=None)`` as the reference spells it."""

    def __init__(
        self,
        host: Any = None,
        user: str | None = None,
        password: str | None = None,
        port: int | None = None,
        use_tls: Any = None,
        **kwargs: Any,
    ) -> None:
        if isinstance(host, Config):
            super().__init__(host, **kwargs)
            return
        config = global_config().copy()
        if host is not None:
            name, _, host_port = str(host).partition(":")
            config["database.host"] = name
            if host_port:
                config["database.port"] = int(host_port)
        if port is not None:
            config["database.port"] = port
        if user is not None:
            config["database.user"] = user
        if password is not None:
            config["database.password"] = password
        if use_tls is not None:
            config["database.use_tls"] = use_tls
        super().__init__(config, **kwargs)


setattr(datajoint_core, "Connection", Connection)  # noqa: B010 -- in this process only
