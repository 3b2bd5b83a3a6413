"""Store specifications: ``config.get_store_spec(name)`` checks one entry of ``config.stores``
as the reference does (required and allowed keys per protocol, the defaults shared by every
protocol, and that the hash / schema / filepath sections of a store do not overlap).

The project itself stores no objects outside the database; the check is kept so that a
``datajoint.json`` shared with the reference is validated alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import DataJointError

_COMMON = (
    "subfolding",
    "partition_pattern",
    "token_length",
    "hash_prefix",
    "schema_prefix",
    "filepath_prefix",
    "stage",
)
REQUIRED: dict[str, tuple[str, ...]] = {
    "file": ("protocol", "location"),
    "s3": ("protocol", "endpoint", "bucket", "location"),
    "gcs": ("protocol", "bucket", "location"),
    "azure": ("protocol", "container", "location"),
}
ALLOWED: dict[str, tuple[str, ...]] = {
    "file": ("protocol", "location", *_COMMON),
    "s3": (
        *REQUIRED["s3"],
        "access_key",
        "secret_key",
        "secure",
        "proxy_server",
        *_COMMON,
    ),
    "gcs": (*REQUIRED["gcs"], "token", "project", *_COMMON),
    "azure": (
        *REQUIRED["azure"],
        "account_name",
        "account_key",
        "connection_string",
        *_COMMON,
    ),
}
DEFAULTS: dict[str, Any] = {
    "subfolding": None,
    "partition_pattern": None,
    "token_length": 8,
    "hash_prefix": "_hash",
    "schema_prefix": "_schema",
    "filepath_prefix": None,
}


def store_spec(
    stores: Mapping[str, Any], store: str | None = None, *, use_filepath_default: bool = False
) -> dict[str, Any]:
    """The checked spec of ``stores[store]`` with its defaults filled in; ``store=None`` means
    ``stores["default"]`` (``stores["filepath_default"]`` for filepath references)."""
    if store is None:
        key = "filepath_default" if use_filepath_default else "default"
        if key not in stores:
            hint = (
                ". Set stores.filepath_default or specify store explicitly with <filepath@store>"
                if use_filepath_default
                else ""
            )
            raise DataJointError(f"stores.{key} is not configured{hint}")
        store = stores[key]
        if not isinstance(store, str):
            raise DataJointError(f"stores.{key} must be a string")
    if store not in stores:
        raise DataJointError(f"Storage '{store}' is requested but not configured in stores")
    spec = {**DEFAULTS, **stores[store]}
    protocol = str(spec.get("protocol", "")).lower()
    if protocol not in REQUIRED:
        raise DataJointError(
            f'Unknown protocol "{protocol}" in config.stores["{store}"]. '
            f"Built-in: {', '.join(REQUIRED)}."
        )
    if protocol == "s3":
        spec.setdefault("secure", True)
    missing = [k for k in REQUIRED[protocol] if k not in spec]
    if missing:
        raise DataJointError(f'config.stores["{store}"] is missing: {", ".join(missing)}')
    invalid = [k for k in spec if k not in ALLOWED[protocol]]
    if invalid:
        raise DataJointError(f'Invalid key(s) in config.stores["{store}"]: {", ".join(invalid)}')
    _check_sections(store, spec)
    return spec


def _check_sections(store: str, spec: Mapping[str, Any]) -> None:
    """Two section prefixes must not be one inside the other."""
    named = [(k, spec[k]) for k in ("hash_prefix", "schema_prefix", "filepath_prefix") if spec[k]]
    for i, (name1, prefix1) in enumerate(named):
        for name2, prefix2 in named[i + 1 :]:
            a, b = prefix1.strip("/") + "/", prefix2.strip("/") + "/"
            if a.startswith(b) or b.startswith(a):
                raise DataJointError(
                    f'config.stores["{store}"]: {name1}="{prefix1}" and {name2}="{prefix2}" '
                    "overlap. Storage section prefixes must be mutually exclusive."
                )
