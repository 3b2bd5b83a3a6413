"""Names of tables and classes: snake and camel case, tiers and their prefixes, masters and parts.

Pure functions over strings; nothing here touches a database or imports a table.

>>> class_name("trial__event")
'Trial.Event'
>>> tier_of("#stimulus")
(<Tier.LOOKUP: '#'>, 'stimulus')
"""

from __future__ import annotations

import re
from collections.abc import Container
from enum import Enum

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


class Tier(Enum):
    """A table tier, by the prefix of its stored name (a Part carries its master's prefix)."""

    MANUAL = ""
    LOOKUP = "#"
    IMPORTED = "_"
    COMPUTED = "__"

    @property
    def prefix(self) -> str:
        return self.value


def to_snake(name: str) -> str:
    """``'TrialEvent'`` -> ``'trial_event'``."""
    return _CAMEL.sub("_", name).lower()


def to_camel(name: str) -> str:
    """``'trial_event'`` -> ``'TrialEvent'``."""
    return "".join(word.capitalize() for word in name.split("_") if word)


def tier_of(table_name: str) -> tuple[Tier, str]:
    """The tier and the bare name of a stored table name (``'#stimulus'`` -> LOOKUP, stimulus)."""
    for tier in (Tier.LOOKUP, Tier.COMPUTED, Tier.IMPORTED):
        if table_name.startswith(tier.prefix):
            return tier, table_name[len(tier.prefix) :]
    return Tier.MANUAL, table_name


def split_part(table_name: str) -> tuple[str, str] | None:
    """``'trial__event'`` -> ``('trial', 'event')``; None for a table that is not a Part."""
    _, bare = tier_of(table_name)
    if "__" not in bare:
        return None
    cut = len(table_name) - len(bare) + bare.find("__")
    return table_name[:cut], table_name[cut + 2 :]


def master_candidates(table_name: str) -> list[str]:
    """The names a Part's master may have, nearest first: ``a__b__c`` -> ``[a__b, a]``.

    A Part of a Part is named after its own master, so the nearest existing one is the master.
    """
    bare = tier_of(table_name)[1]
    prefix = table_name[: len(table_name) - len(bare)]
    segments = bare.split("__")
    return [prefix + "__".join(segments[:i]) for i in range(len(segments) - 1, 0, -1)]


def master_of(table_name: str, existing: Container[str] | None = None) -> str | None:
    """The master's table name of a Part (the nearest one in ``existing`` if given)."""
    for candidate in master_candidates(table_name):
        if existing is None or candidate in existing:
            return candidate
    return None


def part_name(master_table: str, part_class: str) -> str:
    """The stored name of a Part class of a master: ``('trial', 'Event')`` -> ``'trial__event'``."""
    return f"{master_table}__{to_snake(part_class)}"


def table_name(class_name: str, tier: Tier) -> str:
    """The stored name of a table class: ``('Stimulus', LOOKUP)`` -> ``'#stimulus'``."""
    return tier.prefix + to_snake(class_name)


def class_name(table_name: str, existing: Container[str] | None = None) -> str:
    """The class name of a stored table name; a Part is named under its master (the nearest
    one in ``existing`` if given): ``'#stimulus'`` -> ``'Stimulus'``, ``'trial__event'`` ->
    ``'Trial.Event'``."""
    master = master_of(table_name, existing)
    if master is None:
        return to_camel(tier_of(table_name)[1])
    return f"{class_name(master, existing)}.{to_camel(table_name[len(master) + 2 :])}"
