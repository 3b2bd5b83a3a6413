"""``python -m subsetter`` is the ``subset`` command; :func:`entry` is its console script.

Until the command is ready to clean up after itself (it has opened nothing yet), Ctrl-C or
SIGTERM ends the process at once with one line: no traceback from an interrupted import.
"""

import _signal  # the C module: installed before ``signal``'s own (slower) import can be hit
import sys
from os import _exit, write


def _quiet(signum: int, frame: object) -> None:
    interrupted = signum == _signal.SIGINT
    write(2, b"Interrupted.\n" if interrupted else b"Terminated.\n")
    _exit(130 if interrupted else 143)  # nothing is open yet: no clean-up to run


_signal.signal(_signal.SIGINT, _quiet)
_signal.signal(_signal.SIGTERM, _quiet)


def entry() -> None:
    from .cli import main

    main()


if __name__ == "__main__":
    entry()
    sys.exit(0)
