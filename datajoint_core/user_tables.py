"""Table tiers: Manual, Lookup, Imported, Computed and Part, with the reference's name prefixes."""

from __future__ import annotations

from typing import Any, ClassVar

from .autopopulate import AutoPopulate
from .errors import DataJointError, PartIntegrityError
from .naming import Tier, part_name, tier_of
from .table import Table

UserTable = Table  # the reference's name for the base class of the tiers


class Manual(Table):
    """Data entered by hand or by external tools."""

    tier: ClassVar[Tier] = Tier.MANUAL


class Lookup(Table):
    """Reference data; ``contents`` is inserted when the table is declared."""

    tier: ClassVar[Tier] = Tier.LOOKUP
    contents: ClassVar[Any] = ()


class Imported(AutoPopulate):
    """Data imported from outside the database by ``make()``."""

    tier: ClassVar[Tier] = Tier.IMPORTED


class Computed(AutoPopulate):
    """Data computed from other tables by ``make()``."""

    tier: ClassVar[Tier] = Tier.COMPUTED


class Part(Table):
    """A part of its master table; ``-> master`` refers to the master."""

    tier: ClassVar[Tier] = Tier.MANUAL
    master: ClassVar[Any] = None

    @classmethod
    def _base_name(cls) -> str:
        if cls.master is None:
            raise DataJointError(f"Part table {cls.__name__} must be nested in its master class")
        return part_name(cls.master._table_name(), cls.__name__)

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


TIER_CLASSES: dict[Tier, type[Table]] = {
    Tier.MANUAL: Manual,
    Tier.LOOKUP: Lookup,
    Tier.IMPORTED: Imported,
    Tier.COMPUTED: Computed,
}


def tier_class(table_name: str) -> tuple[type[Table], str]:
    """The tier class and the bare name of a stored table name (e.g. ``'#stimulus'``)."""
    tier, bare = tier_of(table_name)
    return TIER_CLASSES[tier], bare
