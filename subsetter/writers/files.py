"""Atomic publication of file outputs: write a temporary sibling, then rename it into place.

A temporary sibling is named ``<target>.tmp-<pid>-<random>``; a run that finds one whose
process is gone (killed in the middle) deletes it before it starts.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import shutil
from pathlib import Path

from ..errors import Hints, OutputExistsError

_CHUNK = 1 << 20


def temp_sibling(target: Path, suffix: str = "") -> Path:
    return target.with_name(f"{target.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}{suffix}")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def clean_stale(target: Path) -> list[Path]:
    """Delete the temporary siblings of ``target`` left by runs that no longer exist."""
    prefix = f"{target.name}.tmp-"
    removed: list[Path] = []
    if not target.parent.is_dir():
        return removed
    for entry in target.parent.iterdir():
        if not entry.name.startswith(prefix):
            continue
        pid = entry.name[len(prefix) :].split("-")[0]
        if pid.isdigit() and _alive(int(pid)):
            continue
        remove(entry)
        removed.append(entry)
    return removed


def remove(path: Path) -> None:
    """Delete a file or a directory tree, if it exists."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def check_target(
    target: Path, replace: bool, looks_ours: bool, hints: Hints | None = None, what: str = ""
) -> None:
    """Refuse an existing target unless replacing an earlier output of the tool.

    ``what`` names what an output of the tool holds (``"a manifest.json"``), for the message.
    """
    hints = hints or Hints()
    subject = hints.subject(str(target))
    if "\0" in str(target):
        raise OutputExistsError(f"{subject}: the path contains a NUL character")
    if not target.exists() and not target.is_symlink():
        return
    if not looks_ours:
        held = f" (it has no {what})" if what else ""
        raise OutputExistsError(
            f"{subject}: {target} exists and is not a subset output{held}; subset never "
            "replaces it: remove it yourself or choose another path"
        )
    if not replace:
        raise OutputExistsError(
            f"{subject}: {target} exists; {hints.option('if_exists', 'replace')} to replace it"
        )


def publish_path(tmp: Path, target: Path, replace: bool, hints: Hints | None = None) -> None:
    """Rename the finished ``tmp`` into place; an earlier output is set aside and removed."""
    hints = hints or Hints()
    if target.exists() or target.is_symlink():
        if not replace:
            raise OutputExistsError(
                f"{hints.subject(str(target))}: {target} appeared while the output was written"
            )
        aside = temp_sibling(target, "-old")
        os.rename(target, aside)
        try:
            os.rename(tmp, target)
        except BaseException:
            os.rename(aside, target)
            raise
        remove(aside)
    else:
        os.rename(tmp, target)
    fsync_path(target.parent)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def fsync_path(path: Path) -> None:
    """Flush a file or a directory entry to disk (best effort where a filesystem refuses)."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) if path.is_dir() else os.O_RDONLY
    try:
        fd = os.open(path, flags)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
