"""Typed settings: the value converters, ``SecretStr`` and the base class of a settings group.

A group (``config.database``, ``config.display``, ...) is a :class:`Settings` subclass whose
``fields`` say each setting's default, converter and environment variable. Converters raise
:class:`~datajoint_core.errors.ConfigError` (a ``ValueError``) with the key and what was expected,
worded as the reference's validation errors are: ``Input should be a valid integer``.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from .errors import ConfigError, UnknownSettingError


class SecretStr:
    """A secret (the password): masked when shown; ``get_secret_value()`` gives it. Item access
    (``config["database.password"]``) gives the plain string."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretStr) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __len__(self) -> int:
        return len(self._value)

    def __str__(self) -> str:
        return "**********" if self._value else ""

    def __repr__(self) -> str:
        return f"SecretStr({str(self)!r})"

    def __copy__(self) -> SecretStr:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> SecretStr:
        return self  # immutable


# -- values: one converter per kind of setting -------------------------------------------------

Convert = Callable[[Any, str], Any]
_TRUE = frozenset({"true", "1", "yes", "on", "t", "y"})
_FALSE = frozenset({"false", "0", "no", "off", "f", "n"})


def invalid(key: str, expected: str, value: Any) -> ConfigError:
    return ConfigError(f"config {key!r}: Input should be {expected}, got {value!r}")


def as_text(value: Any, key: str) -> str:
    if isinstance(value, Path):
        return str(value)
    if not isinstance(value, str):
        raise invalid(key, "a valid string", value)
    return value


def as_int(value: Any, key: str) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise invalid(key, "a valid integer", value)


def as_bool(value: Any, key: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise invalid(key, "a valid boolean (true or false)", value)


def nullable(convert: Convert) -> Convert:
    return lambda value, key: None if value is None else convert(value, key)


def bounded(low: int | None = None, high: int | None = None) -> Convert:
    def convert(value: Any, key: str) -> int:
        number = as_int(value, key)
        if low is not None and number < low:
            raise invalid(key, f"greater than or equal to {low}", value)
        if high is not None and number > high:
            raise invalid(key, f"less than or equal to {high}", value)
        return number

    return convert


def choice(*choices: str, aliases: Mapping[str, str] | None = None, fold: bool = False) -> Convert:
    expected = ", ".join(repr(c) for c in choices[:-1]) + f" or {choices[-1]!r}"

    def convert(value: Any, key: str) -> str:
        text = value.strip() if isinstance(value, str) else value
        if isinstance(text, str):
            text = (aliases or {}).get(text.lower(), text)
            if fold:
                text = text.upper()
        if text not in choices:
            raise invalid(key, expected, value)
        return str(text)

    return convert


def as_tls(value: Any, key: str) -> bool | dict[str, Any] | None:
    """True, False, None (prefer TLS) or a dict of driver TLS options (more than the reference
    accepts in the config; its Connection takes the dict as an argument)."""
    if value is None or isinstance(value, dict):
        return value
    return as_bool(value, key)


def as_secret(value: Any, key: str) -> SecretStr | None:
    if value is None or isinstance(value, SecretStr):
        return value
    return SecretStr(as_text(value, key))


def as_path(value: Any, key: str) -> Path | None:
    if value is None or isinstance(value, Path):
        return value
    return Path(as_text(value, key))


def as_dict(value: Any, key: str) -> dict[str, Any]:
    if isinstance(value, str):  # from the environment: a JSON object
        try:
            value = json.loads(value)
        except ValueError as err:
            raise ConfigError(f"config {key!r}: invalid JSON: {err}") from None
    if not isinstance(value, Mapping):
        raise invalid(key, "a valid dictionary", value)
    try:
        json.dumps(value, default=str)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"config {key!r} must be JSON-serializable: {err}") from None
    return dict(value)


@dataclass(frozen=True)
class Field:
    """One setting: its default, how values are converted, the variable that sets it."""

    default: Any
    convert: Convert
    env: str | None = None
    factory: Callable[[], Any] | None = None  # a new default (a group)

    def fresh(self) -> Any:
        return self.factory() if self.factory else copy.deepcopy(self.default)


# -- groups ------------------------------------------------------------------------------------


class Settings:
    """A group of settings (``config.database``, ``config.display``, ...). Constructed alone it
    reads its environment variables, as the reference's groups do: ``DatabaseSettings().port``."""

    fields: ClassVar[dict[str, Field]] = {}
    key: ClassVar[str] = ""  # the group's name in the config ("" for the Config itself)

    def __init__(
        self, values: Mapping[str, Any] | None = None, *, environ: Mapping[str, str] | None = None
    ) -> None:
        object.__setattr__(self, "_values", {n: f.fresh() for n, f in self.fields.items()})
        env = os.environ if environ is None else environ
        for name, field in self.fields.items():
            value = env.get(field.env) if field.env else None
            if value is None:
                continue
            try:
                self._set(name, value)
            except ConfigError:
                if value != "":  # an empty variable sets a text setting, and nothing else
                    raise
        for name, value in (values or {}).items():
            setattr(self, name, value)
        self._settled()

    def _where(self, name: str) -> str:
        return f"{self.key}.{name}" if self.key else name

    def _unknown(self, name: str) -> UnknownSettingError:
        return UnknownSettingError(
            f"unknown config key {self._where(name)!r}; known keys: "
            + ", ".join(self._where(n) for n in self.fields)
        )

    def _set(self, name: str, value: Any) -> None:
        field = self.fields.get(name)
        if field is None:
            raise self._unknown(name)
        self._values[name] = field.convert(value, self._where(name))

    def _settled(self) -> None:
        """Called after construction and after each assignment (derived defaults)."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._values[name]
        except KeyError:
            raise self._unknown(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self._set(name, value)
        self._settled()

    def __dir__(self) -> list[str]:
        return [*super().__dir__(), *self.fields]

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._values == self._values

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        shown = ", ".join(f"{n}={v!r}" for n, v in self._values.items())
        return f"{type(self).__name__}({shown})"
