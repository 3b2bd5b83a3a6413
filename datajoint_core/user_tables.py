"""Table tiers: Manual, Lookup, Imported, Computed and Part, with the reference's name prefixes.

``Entry``, ``Ingest`` and ``Compute`` are the reference's other names for Manual, Imported and
Computed (the same classes).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

from .autopopulate import AutoPopulate
from .errors import DataJointError, PartIntegrityError
from .naming import Tier, part_name, tier_of
from .table import Table

_BASE = r"[a-z][a-z0-9]*(_[a-z][a-z0-9]*)*"


class UserTable(Table):
    """The base of the tier classes (the reference's ``UserTable``)."""

    tier_regexp: ClassVar[str | None] = None


class Manual(UserTable):
    """Data entered by hand or by external tools."""

    tier: ClassVar[Tier] = Tier.MANUAL
    tier_regexp: ClassVar[str | None] = rf"(?P<manual>{_BASE})"


class Lookup(UserTable):
    """Reference data; ``contents`` is inserted when the table is declared."""

    tier: ClassVar[Tier] = Tier.LOOKUP
    tier_regexp: ClassVar[str | None] = rf"(?P<lookup>#{_BASE})"
    contents: ClassVar[Any] = ()


class Imported(UserTable, AutoPopulate):
    """Data imported from outside the database by ``make()``."""

    tier: ClassVar[Tier] = Tier.IMPORTED
    tier_regexp: ClassVar[str | None] = rf"(?P<imported>_{_BASE})"


class Computed(UserTable, AutoPopulate):
    """Data computed from other tables by ``make()``."""

    tier: ClassVar[Tier] = Tier.COMPUTED
    tier_regexp: ClassVar[str | None] = rf"(?P<computed>__{_BASE})"


Entry = Manual
Ingest = Imported
Compute = Computed


class Part(UserTable):
    """A part of its master table; ``-> master`` refers to the master."""

    tier: ClassVar[Tier] = Tier.MANUAL
    tier_regexp: ClassVar[str | None] = (
        "(?P<master>"
        + "|".join(str(c.tier_regexp) for c in (Manual, Lookup, Imported, Computed))
        + ")__(?P<part>"
        + _BASE
        + ")"
    )
    master: ClassVar[Any] = None

    @classmethod
    def _base_name(cls) -> str:
        if cls.master is None:
            raise DataJointError(f"Part table {cls.__name__} must be nested in its master class")
        return part_name(cls.master._table_name(), cls.__name__)

    @classmethod
    def _namespace(cls, context: Mapping[str, Any]) -> dict[str, Any]:
        # the master by its name and as ``master``; the Part's own name keeps meaning the
        # table of that name outside (``-> Website`` in ``Profile.Website``), as in the reference
        master = cls.master
        return {**context, master.__name__: master, "master": master, "self": cls}

    def alter(self, prompt: bool = True, context: Mapping[str, Any] | None = None) -> None:
        super().alter(prompt=prompt, context=context or type(self).declaration_context)

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


def is_tier(table_name: str, tier: type[UserTable]) -> bool:
    """Whether a stored table name belongs to ``tier`` (by the reference's name patterns)."""
    return tier.tier_regexp is not None and re.fullmatch(tier.tier_regexp, table_name) is not None


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
