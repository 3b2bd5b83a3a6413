"""``python -m subsetter`` is the ``subset`` command; :func:`entry` is its console script.

Until the command is ready to clean up after itself, Ctrl-C or SIGTERM just ends the process,
quietly (no traceback from an interrupted import).
"""

import signal
import sys


def _quiet(signum: int, frame: object) -> None:
    raise SystemExit(130 if signum == signal.SIGINT else 143)


signal.signal(signal.SIGINT, _quiet)
signal.signal(signal.SIGTERM, _quiet)


def entry() -> None:
    from .cli import main

    main()


if __name__ == "__main__":
    entry()
    sys.exit(0)
