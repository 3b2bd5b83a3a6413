"""Small helpers the reference keeps in ``datajoint.utils``: the yes/no prompt.

``input`` is looked up in this module at every call, so a program (or a test) can answer the
prompt by setting ``datajoint_core.utils.input``.
"""

from __future__ import annotations

from collections.abc import Sequence


def user_choice(
    prompt: str, choices: Sequence[str] = ("yes", "no"), default: str | None = None
) -> str:
    """Ask until one of ``choices`` is answered (an empty answer takes ``default``)."""
    if default is not None and default not in choices:
        raise ValueError(f"default {default!r} is not one of {list(choices)}")
    listed = ", ".join(c.title() if c == default else c for c in choices)
    response: str | None = None
    while response not in choices:
        answer = input(f"{prompt} [{listed}]: ")
        response = answer.strip().lower() if answer else default
    return response  # type: ignore[return-value]
