"""Table tiers: Manual, Lookup, Imported, Computed and Part, with the reference's name prefixes."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from .autopopulate import AutoPopulate
from .errors import DataJointError, PartIntegrityError
from .table import Table

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def to_snake(name: str) -> str:
    """``'TrialEvent'`` -> ``'trial_event'``."""
    return _CAMEL.sub("_", name).lower()


def to_camel(name: str) -> str:
    """``'trial_event'`` -> ``'TrialEvent'``."""
    return "".join(word.capitalize() for word in name.split("_") if word)


class Manual(Table):
    """Data entered by hand or by external tools."""

    tier_prefix: ClassVar[str] = ""


class Lookup(Table):
    """Reference data; ``contents`` is inserted when the table is declared."""

    tier_prefix: ClassVar[str] = "#"
    contents: ClassVar[Any] = ()


class Imported(AutoPopulate):
    """Data imported from outside the database by ``make()``."""

    tier_prefix: ClassVar[str] = "_"


class Computed(AutoPopulate):
    """Data computed from other tables by ``make()``."""

    tier_prefix: ClassVar[str] = "__"


class Part(Table):
    """A part of its master table; ``-> master`` refers to the master."""

    tier_prefix: ClassVar[str] = ""
    master: ClassVar[Any] = None

    @classmethod
    def _base_name(cls) -> str:
        if cls.master is None:
            raise DataJointError(f"Part table {cls.__name__} must be nested in its master class")
        return f"{cls.master._table_name()}__{to_snake(cls.__name__)}"

    def delete(
        self, transaction: bool = True, prompt: bool | None = None, part_integrity: str = "enforce"
    ) -> int:
        if part_integrity == "enforce":
            raise PartIntegrityError(
                f"cannot delete from Part {self.class_name} before its master "
                f"{self.master.__name__}: delete from the master, or pass "
                "part_integrity='ignore' or 'cascade'"
            )
        return super().delete(transaction=transaction, prompt=prompt, part_integrity=part_integrity)

    def drop(self, prompt: bool | None = None, part_integrity: str = "enforce") -> None:
        if part_integrity == "enforce":
            raise PartIntegrityError(
                f"cannot drop Part {self.class_name} before its master {self.master.__name__}: "
                "drop the master, or pass part_integrity='ignore'"
            )
        super().drop(prompt=prompt, part_integrity=part_integrity)


TIERS: tuple[type[Table], ...] = (Lookup, Computed, Imported, Manual)


def tier_of(table_name: str) -> tuple[type[Table], str]:
    """The tier class and the bare name of a stored table name (e.g. ``'#stimulus'``)."""
    if table_name.startswith("#"):
        return Lookup, table_name[1:]
    if table_name.startswith("__"):
        return Computed, table_name[2:]
    if table_name.startswith("_"):
        return Imported, table_name[1:]
    return Manual, table_name


def split_part(table_name: str) -> tuple[str, str] | None:
    """``'trial__event'`` -> ``('trial', 'event')``; None for a table that is not a Part."""
    _, bare = tier_of(table_name)
    if "__" not in bare:
        return None
    cut = len(table_name) - len(bare) + bare.find("__")
    return table_name[:cut], table_name[cut + 2 :]
