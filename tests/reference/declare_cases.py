"""Table classes and codecs for the declaration cross-check, written once for both packages.

``tables(dj)`` and ``codecs(dj)`` take the package (the reference ``datajoint`` or
``datajoint_core``) as an argument, so the very same definitions are declared by the reference
(tests/reference/reference_declare.py, in its own interpreter) and here
(tests/integration/test_declare_reference.py). This module imports neither package.
"""

from __future__ import annotations

import uuid
from typing import Any

WEBSITE = uuid.UUID("00000000-0000-4000-8000-00000000abcd")


def codecs(dj: Any) -> None:
    """Register ``<zigzag>`` (a list, reversed, through ``<blob>``) and ``<shout>`` (text,
    upper-cased, in a ``varchar``), once per process."""
    if "zigzag" in dj.list_codecs():
        return

    class Zigzag(dj.Codec):
        name = "zigzag"

        def get_dtype(self, is_store: bool) -> str:
            return "<blob>"

        def encode(self, value: Any, *, key: Any = None, store_name: Any = None) -> Any:
            return list(reversed(value))

        def decode(self, stored: Any, *, key: Any = None) -> Any:
            return list(reversed(stored))

    class Shout(dj.Codec):
        name = "shout"

        def get_dtype(self, is_store: bool) -> str:
            return "varchar(64)"

        def encode(
            self, value: Any, *, key: Any = None, context: Any = None, store_name: Any = None
        ) -> Any:
            return f"{value.upper()}@{context['table']}.{context['field']}"

        def decode(self, stored: Any, *, key: Any = None, context: Any = None) -> Any:
            return stored.split("@")[0].lower()

        def validate(self, value: Any) -> None:
            if not isinstance(value, str):
                raise TypeError(f"<shout> takes text, not {type(value).__name__}")


def tables(dj: Any) -> list[Any]:
    """The table classes, in declaration order (masters only; Parts come with them)."""

    class Website(dj.Lookup):
        definition = """
        url_hash : uuid
        ---
        url : varchar(255)   # the address
        """

    class Profile(dj.Manual):
        definition = """
        # people with their websites
        ssn : char(11)
        ---
        name : varchar(70)
        blood_group : enum('A+', 'A-', 'O+')
        born = null : date
        score = 1.5 : float64
        """

        class Website(dj.Part):  # named like the outer table: `-> Website` is the outer one
            definition = """
            -> master
            -> Website
            """

    class Source(dj.Lookup):
        definition = """
        source_id : int16
        ---
        value : float32
        """
        contents = [(1, 1.0), (2, 2.0)]

    class Base(dj.Manual):
        source: Any = None
        definition = """
        -> self.source
        b_id : int32   # within the source
        """

        class Note(dj.Part):
            definition = """
            -> master
            note_id : int8
            ---
            text = "" : varchar(64)
            """

    class Derived(Base):
        source = Source

    class Settings(dj.Lookup):
        definition = """
        # global settings: a singleton
        ---
        level : int32
        label = 'x' : varchar(16)
        """

    class Payload(dj.Manual):
        definition = """
        payload_id : int32
        ---
        data : <blob>
        items = null : <zigzag>
        word = null : <shout>       # shouted
        doc = null : <attach>
        -> [nullable] Source
        flag = 0 : bool
        index(word)
        """

    class Reserved(dj.Manual):
        definition = """
        key : int32
        ---
        in : varchar(8)
        from = null : varchar(8)
        """

    class Result(dj.Computed):
        definition = """
        -> Source
        ---
        doubled : float64
        """

        def make(self, key: Any) -> None:
            raise NotImplementedError

    return [Website, Profile, Source, Derived, Settings, Payload, Reserved, Result]


def rows(attachment: str) -> dict[str, list[dict[str, Any]]]:
    """Rows to insert, by class name (Parts as ``Master.Part``); ``attachment`` is a file."""
    import numpy as np

    return {
        "Website": [{"url_hash": WEBSITE, "url": "https://example.org"}],
        "Profile": [{"ssn": "123-45-6789", "name": "Ada", "blood_group": "A-", "born": None}],
        "Profile.Website": [{"ssn": "123-45-6789", "url_hash": WEBSITE}],
        "Derived": [{"source_id": 1, "b_id": 7}],
        "Derived.Note": [{"source_id": 1, "b_id": 7, "note_id": 1, "text": "first"}],
        "Settings": [{"level": 3}],
        "Payload": [
            {
                "payload_id": 1,
                "data": {"a": np.arange(6, dtype="int16").reshape(2, 3), "b": [1, "two", 3.0]},
                "items": [1, 2, 3],
                "word": "hello",
                "doc": attachment,
                "source_id": 2,
                "flag": True,
            },
            {
                "payload_id": 2,
                "data": np.linspace(0, 1, 300),
                "items": None,
                "word": None,
                "doc": None,
                "source_id": None,
                "flag": False,
            },
        ],
        "Reserved": [{"key": 1, "in": "a", "from": "b"}],
    }


# the definition each side alters ``Alterable`` to, by whether the backend renames (MySQL);
# on PostgreSQL the reference cannot change a table comment with alter (it writes MySQL's syntax)
ALTERABLE = """
# before
a_id : int32
---
old_name : float32   # the value
keep : varchar(8)
gone = null : int16
"""
ALTERED_RENAMING = """
# after
a_id : int32
---
keep : varchar(16)   # longer now
new_name : float32   # {old_name} the value
added = 3 : int16
"""
ALTERED_PLAIN = """
# before
a_id : int32
---
old_name : float32   # the value
keep : varchar(8)
added = 3 : int16    # new
"""


def alterable(dj: Any) -> Any:
    class Alterable(dj.Manual):
        definition = ALTERABLE

    return Alterable
