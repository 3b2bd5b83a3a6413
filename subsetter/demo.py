"""``subset demo``: an embedded PostgreSQL, a small realistic lab pipeline, the demo recipe.

Three schemas (demo_lab, demo_ephys, demo_analysis) with lookups, parts, a renamed foreign key,
several core types and some thirty thousand rows, generated deterministically. Everything the
demo makes lives in one directory: the server's data (``pg/``), the recipe (``demo.yaml``, a
copy of the one shipped in the package) and the outputs (``parquet/``, ``demo.duckdb``).
"""

from __future__ import annotations

import contextlib
import datetime
import random
import signal
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import datajoint_core as dj

SCHEMAS = ("demo_lab", "demo_ephys", "demo_analysis")
SERVER = "pg"  # the embedded server's data directory, inside the demo directory


def recipe_text() -> str:
    """The demo recipe, as shipped in the package (``subsetter/recipes/demo.yaml``)."""
    return (resources.files("subsetter") / "recipes" / "demo.yaml").read_text(encoding="utf-8")


def declare(connection: dj.Connection, schemas: Sequence[str] = SCHEMAS) -> dict[str, Any]:
    """Declare the demo pipeline (idempotent) in the three ``schemas`` (lab, ephys, analysis)
    and return its table classes."""
    lab_name, ephys_name, analysis_name = schemas
    lab = dj.Schema(lab_name, connection=connection)

    @lab
    class Subject(dj.Manual):
        definition = """
        # an animal in the lab
        subject_id : int32
        ---
        species : enum('mouse', 'rat')
        sex : enum('F', 'M', 'U')
        date_of_birth : date
        """

    @lab
    class Session(dj.Manual):
        definition = """
        -> Subject
        session_id : int16
        ---
        session_date : date
        rig : varchar(16)   # where it was recorded
        """

    @lab
    class Stimulus(dj.Lookup):
        definition = """
        stimulus_id : int16
        ---
        kind : enum('visual', 'audio', 'none')
        description : varchar(64)
        """
        contents = [(1, "visual", "drifting grating"), (2, "audio", "tone"), (3, "none", "blank")]

    @lab
    class Trial(dj.Manual):
        definition = """
        -> Session
        trial_id : int32
        ---
        -> Stimulus
        outcome : float64
        reward = null : float32
        """

        class Event(dj.Part):
            definition = """
            -> master
            event_id : int16
            ---
            t : float64    # seconds from trial start
            kind : varchar(16)
            """

    ephys = dj.Schema(ephys_name, connection=connection)

    @ephys
    class Probe(dj.Lookup):
        definition = """
        probe_id : varchar(16)
        ---
        channels : int16
        """
        contents = [("np1-001", 384), ("np1-002", 384), ("tet-01", 4)]

    @ephys
    class Recording(dj.Manual):
        definition = """
        -> Session
        recording_id : int16
        ---
        -> Probe
        sampling_rate : float64
        started : datetime(3)
        params : json
        """

    @ephys
    class Unit(dj.Imported):
        definition = """
        -> Recording
        unit_id : int32
        ---
        quality : enum('good', 'mua', 'noise')
        unit_uuid : uuid
        """

        class Spikes(dj.Part):
            definition = """
            -> master
            ---
            spike_count : int32
            spike_times : <blob>
            """

    analysis = dj.Schema(analysis_name, connection=connection)

    @analysis
    class Tuning(dj.Computed):
        definition = """
        -> Unit
        -> Stimulus
        ---
        preferred : float64
        selectivity : decimal(6,3)
        """

    @analysis
    class Comparison(dj.Manual):
        definition = """
        # correlation of two units of one recording
        -> Unit.proj(unit_a='unit_id')
        -> Unit.proj(unit_b='unit_id')
        ---
        correlation : float64
        """

    return {k: v for k, v in locals().items() if isinstance(v, type)}


def populate(tables: dict[str, Any], *, subjects: int = 60, seed: int = 7) -> None:
    """Fill the pipeline with deterministic, realistic-looking rows (skipped if filled)."""
    if len(tables["Subject"]()):
        return
    import numpy as np

    rng = random.Random(seed)
    start = datetime.date(2024, 1, 1)
    subj, sess, trials, events, recs, units, spikes, tuning, pairs = ([] for _ in range(9))
    for s in range(1, subjects + 1):
        species = "mouse" if s % 3 else "rat"
        subj.append((s, species, rng.choice("FM"), start - datetime.timedelta(days=90 + s)))
        for n in range(1, 5):
            day = start + datetime.timedelta(days=rng.randrange(0, 150))
            sess.append((s, n, day, f"rig-{rng.randrange(1, 4)}"))
            for t in range(1, 21):
                trials.append((s, n, t, rng.randrange(1, 4), rng.random(), None if t % 4 else 0.5))
                for e in range(1, 4):
                    events.append(
                        (s, n, t, e, e * rng.random(), rng.choice(["lick", "move", "cue"]))
                    )
            started = datetime.datetime.combine(day, datetime.time(10, 0, 0, 123000))
            params = {"filter": [300, 6000], "sorter": "ks4"}
            recs.append((s, n, 1, rng.choice(["np1-001", "np1-002"]), 30000.0, started, params))
            for u in range(1, 9):
                units.append(
                    (
                        s,
                        n,
                        1,
                        u,
                        rng.choice(["good", "mua", "noise"]),
                        uuid.UUID(int=rng.getrandbits(128)),
                    )
                )
                times = np.sort(np.array([rng.random() * 600 for _ in range(20)]))
                spikes.append((s, n, 1, u, len(times), times))
                for stim in (1, 2):
                    tuning.append((s, n, 1, u, stim, rng.random() * 360, f"{rng.random():.3f}"))
            for a in range(1, 8):
                pairs.append((s, n, 1, a, a + 1, rng.uniform(-1, 1)))
    tables["Subject"].insert(subj)
    tables["Session"].insert(sess)
    tables["Trial"].insert(trials)
    tables["Trial"].Event.insert(events)
    tables["Recording"].insert(recs)
    tables["Unit"].insert(units, allow_direct_insert=True)  # no make(): made-up data
    tables["Unit"].Spikes.insert(spikes)
    tables["Tuning"].insert(tuning, allow_direct_insert=True)
    tables["Comparison"].insert(pairs)


def _is_part(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, dj.Part) and value is not dj.Part


@dataclass
class Demo:
    """What the demo made, and the state it left the server in."""

    directory: Path
    recipe: Path
    result: Any  # api.RunResult
    server_running: bool  # left running (asked for, or running before the demo)


@contextlib.contextmanager
def _uninterrupted() -> Iterator[None]:
    """Hold Ctrl-C / SIGTERM until the block is done (delivered right after it)."""
    held = {signal.SIGINT, signal.SIGTERM}
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def run_demo(
    directory: str,
    *,
    keep_running: bool = False,
    echo: Callable[[str], None] = print,
    show_plan: Callable[[Any], None] | None = None,
) -> Demo:
    """Start the embedded server in ``directory``/pg, declare and fill the pipeline, write the
    demo recipe to ``directory``/demo.yaml and run it; stop the server again (also when
    interrupted) unless ``keep_running`` or it was running before."""
    from datajoint_core.embedded import embedded_instance, embedded_running, stop_embedded

    from . import api

    root = Path(directory)
    server = root / SERVER
    recipe = root / "demo.yaml"
    root.mkdir(parents=True, exist_ok=True)
    was_running = embedded_running(server)
    stop = not (keep_running or was_running)
    try:
        echo(f"starting the embedded PostgreSQL in {server} ...")
        inst = embedded_instance(server, safemode=False)
        try:
            tables = declare(inst.connection)
            populate(tables)
            parts = [p for c in tables.values() for p in vars(c).values() if _is_part(p)]
            total = sum(len(cls()) for cls in [*tables.values(), *parts])
            echo(f"demo pipeline: schemas {', '.join(SCHEMAS)}, {total:,} rows")
        finally:
            inst.close()
        recipe.write_text(recipe_text(), encoding="utf-8")
        echo(f"running the recipe {recipe} ...")
        result = api.run(str(recipe), on_plan=show_plan)
        for name, out in result.outputs.items():
            echo(f"{name}: {out.rows:,} rows in {len(out.tables)} tables -> {out.location}")
    finally:
        if stop:
            with _uninterrupted():
                stop_embedded(server)
    return Demo(root, recipe, result, server_running=not stop)
