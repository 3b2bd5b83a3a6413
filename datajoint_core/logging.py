"""``datajoint_core.logging``: the library's logger (``dj.logger``), the reference's JOBS level
and its formatter.

Unlike the reference, importing the library installs no handler (a library's log lines would
otherwise land in the output of programs that print data to stdout, such as ``subset preview
--json``); :func:`enable` attaches the reference's handler when wanted::

    import datajoint_core.logging
    datajoint_core.logging.enable()        # INFO lines as "[2024-01-01 12:00:00] message"
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

JOBS = 15  # populate status lines: DEBUG (10) < JOBS < INFO (20)
logging.addLevelName(JOBS, "JOBS")

logger = logging.getLogger("datajoint_core")


class LevelAwareFormatter(logging.Formatter):
    """INFO lines plain, the level shown for JOBS and from WARNING up; tracebacks and stack
    information kept."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = self.formatTime(record, "%Y-%m-%d %H:%M:%S")
        if record.levelno >= logging.WARNING:
            message = f"[{stamp}][{record.levelname}]: {record.getMessage()}"
        elif record.levelno == JOBS:
            message = f"[{stamp}][JOBS]: {record.getMessage()}"
        else:
            message = f"[{stamp}] {record.getMessage()}"
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            message = f"{message}\n{record.exc_text}"
        if record.stack_info:
            message = f"{message}\n{self.formatStack(record.stack_info)}"
        return message


def enable(stream: TextIO | None = None) -> logging.Handler:
    """Send the library's log lines to ``stream`` (stdout) in the reference's format; calling it
    again replaces the handler it installed."""
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(LevelAwareFormatter())
    handler.set_name("datajoint_core")
    logger.handlers = [h for h in logger.handlers if h.get_name() != "datajoint_core"]
    logger.addHandler(handler)
    return handler


__all__ = ["JOBS", "LevelAwareFormatter", "enable", "logger"]
