"""The yes/no prompt is answered through ``datajoint_core.utils.input`` (as in the reference)."""

from __future__ import annotations

import pytest

import datajoint_core as dj
from datajoint_core import context


def test_prompt_reads_module_input(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = iter(["maybe", "", "YES"])
    asked: list[str] = []

    def fake_input(prompt: str) -> str:
        asked.append(prompt)
        return next(answers)

    monkeypatch.setattr(dj.utils, "input", fake_input, raising=False)
    assert context.ask("Drop everything?") is True
    assert asked == ["Drop everything? [yes, no]: "] * 3


def test_empty_answer_takes_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dj.utils, "input", lambda prompt: "", raising=False)
    assert dj.utils.user_choice("Continue?", default="no") == "no"
    with pytest.raises(ValueError, match="default 'maybe'"):
        dj.utils.user_choice("Continue?", default="maybe")
