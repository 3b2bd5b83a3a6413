"""What the object-storage codecs share here: they resolve, but cannot move objects."""

from __future__ import annotations

from ..errors import DataJointError


def no_object_storage(codec: str) -> DataJointError:
    """The error for writing or reading the objects of ``<codec@store>``."""
    return DataJointError(
        f"<{codec}@...> keeps its values in object storage, which datajoint_core does not "
        "implement: the attribute is declared and readable as metadata only"
    )
