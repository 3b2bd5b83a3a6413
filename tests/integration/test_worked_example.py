"""semantics.md §6: the worked example, with its exact counts, on both backends."""

from __future__ import annotations

from typing import Any

import pytest

import datajoint_core as dj
from datajoint_core import errors

from .pipeline import declare_lab


@pytest.fixture
def lab(inst: dj.Instance, schema_name: str) -> dict[str, Any]:
    return declare_lab(inst.connection, schema_name)


def _short(counts: dict[str, int], inst: dj.Instance) -> dict[str, int]:
    adapter = inst.connection.adapter
    return {adapter.split_full_name(k)[1]: v for k, v in counts.items()}


def test_restrict_species(lab: dict[str, Any], inst: dj.Instance) -> None:
    d = dj.Diagram(lab["schema"]).restrict(lab["Subject"] & {"species": "mouse"})
    assert _short(d.preview(), inst) == {
        "subject": 2,
        "pairing": 1,
        "session": 3,
        "trial": 4,
        "trial__event": 3,
    }


def test_restrict_chain_and_prune(lab: dict[str, Any], inst: dj.Instance) -> None:
    d = (
        dj.Diagram(lab["schema"])
        .restrict(lab["Subject"] & {"species": "mouse"})
        .restrict(lab["Session"] & "session_date < '2024-02-15'")
        .prune()
    )
    assert _short(d.preview(), inst) == {
        "subject": 2,
        "pairing": 1,
        "session": 2,
        "trial": 3,
        "trial__event": 3,
    }


def test_restrict_rat_prunes_everything_else(lab: dict[str, Any], inst: dj.Instance) -> None:
    d = (
        dj.Diagram(lab["schema"])
        .restrict(lab["Subject"] & {"species": "rat"})
        .restrict(lab["Session"] & "session_date < '2024-02-15'")
        .prune()
    )
    assert _short(d.preview(), inst) == {"subject": 1}


def test_restrict_two_seeds(lab: dict[str, Any], inst: dj.Instance) -> None:
    d = (
        dj.Diagram(lab["schema"])
        .restrict(lab["Session"] & {"subject_id": 1})
        .restrict(lab["Stimulus"] & {"kind": "visual"})
    )
    assert _short(d.preview(), inst) == {
        "#stimulus": 1,
        "session": 2,
        "trial": 2,
        "trial__event": 3,
    }
    assert d.counts() == d.preview()


def test_cascade_subject(lab: dict[str, Any], inst: dj.Instance) -> None:
    d = dj.Diagram(lab["schema"]).cascade(lab["Subject"] & {"subject_id": 1})
    assert _short(d.preview(), inst) == {
        "subject": 1,
        "pairing": 1,
        "session": 2,
        "trial": 3,
        "trial__event": 3,
    }


def test_cascade_session_as_classmethod(lab: dict[str, Any], inst: dj.Instance) -> None:
    d = dj.Diagram.cascade(lab["Session"] & {"subject_id": 1, "session_id": 1})
    assert _short(d.preview(), inst) == {"session": 1, "trial": 2, "trial__event": 2}


def test_cascade_part_integrity_cascade(lab: dict[str, Any], inst: dj.Instance) -> None:
    event = lab["Trial"].Event & {"subject_id": 1, "session_id": 1, "trial_id": 1, "event_id": 1}
    d = dj.Diagram.cascade(event, part_integrity="cascade")
    assert _short(d.preview(), inst) == {"trial": 1, "trial__event": 2}


def test_delete_session(lab: dict[str, Any]) -> None:
    count = (lab["Session"] & {"subject_id": 1, "session_id": 1}).delete(prompt=False)
    assert count == 1
    assert [len(lab[n]()) for n in ("Subject", "Session", "Trial", "Pairing")] == [3, 3, 3, 2]
    assert len(lab["Trial"].Event()) == 2


def test_delete_part_before_master_raises(lab: dict[str, Any]) -> None:
    with pytest.raises(errors.PartIntegrityError, match="master"):
        (lab["Trial"].Event & {"subject_id": 1}).delete()
    assert len(lab["Trial"].Event()) == 4


def test_one_shot_and_mutual_exclusion(lab: dict[str, Any]) -> None:
    d = dj.Diagram(lab["schema"])
    c = d.cascade(lab["Subject"] & {"subject_id": 1})
    with pytest.raises(dj.DataJointError, match="once"):
        c.cascade(lab["Subject"] & {"subject_id": 2})
    with pytest.raises(dj.DataJointError, match="restrict"):
        c.restrict(lab["Subject"] & {"subject_id": 2})
    with pytest.raises(dj.DataJointError, match="prune"):
        c.prune()
    r = d.restrict(lab["Subject"] & {"subject_id": 1})
    with pytest.raises(dj.DataJointError, match="cascade"):
        r.cascade(lab["Subject"] & {"subject_id": 2})
    with pytest.raises(dj.DataJointError, match="No restrictions"):
        d.preview()
