"""``python -m subsetter`` is the ``subset`` command; :func:`entry` is its console script.

Until the command is ready to clean up after itself, Ctrl-C or SIGTERM just ends the process,
quietly (no traceback from an interrupted import).
"""

import _signal  # the C module: installed before ``signal``'s own (slower) import can be hit
import sys


def _quiet(signum: int, frame: object) -> None:
    raise SystemExit(130 if signum == _signal.SIGINT else 143)


_signal.signal(_signal.SIGINT, _quiet)
_signal.signal(_signal.SIGTERM, _quiet)


def entry() -> None:
    from .cli import main

    main()


if __name__ == "__main__":
    entry()
    sys.exit(0)
