"""The worked example of semantics.md §6, declared on any connection."""

from __future__ import annotations

from typing import Any

import datajoint_core as dj


def declare_lab(connection: dj.Connection, schema_name: str) -> dict[str, Any]:
    """Declare and fill Subject, Session, Stimulus, Trial (+ Event), Pairing; return the classes."""
    schema = dj.Schema(schema_name, connection=connection)

    @schema
    class Subject(dj.Manual):
        definition = """
        subject_id : int32
        ---
        species : varchar(32)
        """

    @schema
    class Session(dj.Manual):
        definition = """
        -> Subject
        session_id : int32
        ---
        session_date : date
        """

    @schema
    class Stimulus(dj.Lookup):
        definition = """
        stimulus_id : int32
        ---
        kind : enum('visual', 'audio')
        """
        contents = [(1, "visual"), (2, "audio")]

    @schema
    class Trial(dj.Manual):
        definition = """
        -> Session
        trial_id : int32
        ---
        -> Stimulus
        outcome = null : float64
        """

        class Event(dj.Part):
            definition = """
            -> master
            event_id : int32
            ---
            t : float64
            """

    @schema
    class Pairing(dj.Manual):
        definition = """
        -> Subject.proj(subj_a='subject_id')
        -> Subject.proj(subj_b='subject_id')
        """

    Subject.insert([(1, "mouse"), (2, "mouse"), (3, "rat")])
    Session.insert(
        [(1, 1, "2024-01-01"), (1, 2, "2024-02-01"), (2, 1, "2024-03-01"), (3, 1, "2024-04-01")]
    )
    Trial.insert(
        [
            dict(subject_id=1, session_id=1, trial_id=1, stimulus_id=1),
            dict(subject_id=1, session_id=1, trial_id=2, stimulus_id=2),
            dict(subject_id=1, session_id=2, trial_id=1, stimulus_id=1),
            dict(subject_id=2, session_id=1, trial_id=1, stimulus_id=2),
            dict(subject_id=3, session_id=1, trial_id=1, stimulus_id=1),
        ]
    )
    Trial.Event.insert(
        [(1, 1, 1, 1, 0.5), (1, 1, 1, 2, 1.5), (1, 2, 1, 1, 0.25), (3, 1, 1, 1, 2.0)]
    )
    Pairing.insert([(1, 2), (2, 3)])
    return {
        "schema": schema,
        "Subject": Subject,
        "Session": Session,
        "Stimulus": Stimulus,
        "Trial": Trial,
        "Pairing": Pairing,
    }
