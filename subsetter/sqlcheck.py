"""A recipe's SQL, checked without a server: ``where:`` strings in the source's dialect and
``order_by`` items (``attribute [ASC|DESC]``, as ``dj.Top`` takes them).

>>> order_names(["session_date DESC", "KEY"])
['session_date', 'KEY']
>>> order_problem("session_date SIDEWAYS")
"unknown direction 'SIDEWAYS' in 'session_date SIDEWAYS' (expected ASC or DESC)"
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

DIRECTIONS = ("ASC", "DESC")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|`[A-Za-z_][A-Za-z0-9_]*`|\"[A-Za-z_][A-Za-z0-9_]*\"")


def condition_problem(text: str, backend: str) -> str | None:
    """Why ``text`` is no condition in ``backend``'s SQL (or translatable MySQL); None if it is.

    The SQL parser is imported here, only for recipes that hold SQL strings.
    """
    from datajoint_core.condition import syntax_problem

    return syntax_problem(text, backend)


def order_problem(item: str) -> str | None:
    """What is wrong with one ``order_by`` entry (it may list several, comma-separated)."""
    for part in item.split(","):
        words = part.split()
        if not words:
            return f"an empty item in {item!r}; expected 'attribute [ASC|DESC]'"
        if len(words) > 2 or not _NAME.fullmatch(words[0]):
            return f"{part.strip()!r} is not 'attribute [ASC|DESC]'"
        if len(words) == 2 and words[1].upper() not in DIRECTIONS:
            close = difflib.get_close_matches(words[1].upper(), DIRECTIONS, n=1)
            hint = f"did you mean {close[0]}?" if close else "expected ASC or DESC"
            return f"unknown direction {words[1]!r} in {part.strip()!r} ({hint})"
    return None


def order_names(items: Sequence[str]) -> list[str]:
    """The attribute names ``order_by`` items order by (``KEY`` stands for the primary key)."""
    return [
        part.split()[0].strip('`"') for item in items for part in item.split(",") if part.split()
    ]
