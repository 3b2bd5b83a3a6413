"""``python -m subsetter`` is the ``subset`` command."""

from .cli import main

main()
