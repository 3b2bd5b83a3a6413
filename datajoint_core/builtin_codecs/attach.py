"""``<attach>``: a file kept with its name (``name\\0contents``); fetched back to a file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..codecs import Codec


class AttachCodec(Codec):
    """A file attachment: ``bytes`` in the table, ``<hash@>`` in a store.

    Fetching writes the file into the config's ``download_path`` (another name where a
    different file of that name is already there) and returns its path.
    """

    name = "attach"

    def get_dtype(self, is_store: bool) -> str:
        return "<hash>" if is_store else "bytes"

    def encode(
        self,
        value: Any,
        *,
        key: dict[str, Any] | None = None,
        context: dict[str, Any] | None = None,
        store_name: str | None = None,
    ) -> bytes:
        path = Path(value)
        if not path.exists():
            raise FileNotFoundError(f"Attachment file not found: {path}")
        if path.is_dir():
            raise IsADirectoryError(f"<attach> does not support directories: {path}")
        return path.name.encode("utf-8") + b"\0" + path.read_bytes()

    def decode(
        self,
        stored: bytes,
        *,
        key: dict[str, Any] | None = None,
        context: dict[str, Any] | None = None,
    ) -> str:
        name, _, contents = bytes(stored).partition(b"\0")
        config = self._codec_config(key, context)
        if config is None:
            from ..context import config as global_config

            config = global_config
        folder = Path(_setting(config, "download_path", "."))
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / name.decode("utf-8")
        stem, suffix, counter = target.stem, target.suffix, 1
        while target.exists() and target.read_bytes() != contents:
            target = folder / f"{stem}_{counter}{suffix}"
            counter += 1
        if not target.exists():
            target.write_bytes(contents)
        return str(target)

    def validate(self, value: Any) -> None:
        if not isinstance(value, (str, Path)):
            raise TypeError(f"<attach> expects a file path, got {type(value).__name__}")


def _setting(config: Any, name: str, default: Any) -> Any:
    try:
        value = config[name]
    except Exception:  # no such setting (or no global config in thread-safe mode)
        return default
    return default if value is None else value
