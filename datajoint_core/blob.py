"""The ``<blob>`` codec: arrays and plain values stored as bytes.

Arrays use NumPy's ``.npy`` format (no pickle); other values JSON. Bytes that carry neither tag
(e.g. blobs written by the reference DataJoint's own serializer) come back unchanged as ``bytes``.
"""

from __future__ import annotations

import io
import json
from typing import Any

NPY = b"djc:npy\0"
JSON = b"djc:json\0"


def pack(value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    import numpy as np

    if isinstance(value, (np.ndarray, np.generic)):
        buffer = io.BytesIO()
        np.save(buffer, np.asarray(value), allow_pickle=False)
        return NPY + buffer.getvalue()
    return JSON + json.dumps(value).encode()


def unpack(data: bytes | None) -> Any:
    if data is None:
        return None
    data = bytes(data)
    if data.startswith(NPY):
        import numpy as np

        return np.load(io.BytesIO(data[len(NPY) :]), allow_pickle=False)
    if data.startswith(JSON):
        return json.loads(data[len(JSON) :])
    return data
