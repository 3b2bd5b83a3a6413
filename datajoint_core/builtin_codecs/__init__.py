"""The codecs that ship with DataJoint, by the reference's names.

``<blob>`` (serialized Python objects) and ``<attach>`` (a file with its name) are stored in
the table. ``<blob@>``, ``<attach@>``, ``<hash@>``, ``<object@>``, ``<npy@>`` and
``<filepath@>`` keep their objects in object storage: they declare and resolve as in the
reference, but writing or reading their objects raises (datajoint_core has no object stores).
"""

from __future__ import annotations

from .attach import AttachCodec
from .blob import BlobCodec
from .filepath import FilepathCodec
from .hash import HashCodec
from .npy import NpyCodec, NpyRef
from .object import ObjectCodec
from .schema import SchemaCodec

__all__ = [
    "AttachCodec",
    "BlobCodec",
    "FilepathCodec",
    "HashCodec",
    "NpyCodec",
    "NpyRef",
    "ObjectCodec",
    "SchemaCodec",
]
