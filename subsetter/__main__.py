"""``python -m subsetter`` is the ``subset`` command; :func:`entry` is its console script.

Until the command is ready to clean up after itself (it has opened nothing yet), Ctrl-C or
SIGTERM ends the process at once with one line: no traceback from an interrupted import.
"""

import _signal  # the C module: installed before ``signal``'s own (slower) import can be hit
import os
import sys


def _quiet(signum: int, frame: object) -> None:
    interrupted = signum == _signal.SIGINT
    os.write(2, b"Interrupted.\n" if interrupted else b"Terminated.\n")
    os._exit(130 if interrupted else 143)


_signal.signal(_signal.SIGINT, _quiet)
_signal.signal(_signal.SIGTERM, _quiet)


def entry() -> None:
    from .cli import main

    main()


if __name__ == "__main__":
    entry()
    sys.exit(0)
