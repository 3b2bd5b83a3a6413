"""A wheel built from the project, installed (not editable) in a fresh venv, runs ``subset demo``
from a directory outside the repo, and the demo leaves no server running unless asked to."""

from __future__ import annotations

import shlex
import subprocess
import zipfile
from pathlib import Path

from .wheel import ROOT, clean_env, postgres_on


def _subset(bindir: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(bindir / "subset"), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=clean_env(),
        timeout=300,
    )


def _printed(stdout: str, prefix: str) -> list[str]:
    """The command the output printed on the line starting with ``prefix``, as argv."""
    (line,) = [ln for ln in stdout.splitlines() if ln.strip().startswith(prefix)]
    return shlex.split(line.strip().removeprefix(prefix).split(",")[0])


def test_the_wheel_ships_the_demo_recipe(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        shipped = archive.read("subsetter/recipes/demo.yaml").decode()
        names = archive.namelist()
    assert shipped == (ROOT / "subsetter" / "recipes" / "demo.yaml").read_text()
    assert not [n for n in names if n.startswith(("tests/", "recipes/", "bench/"))]


def test_demo_from_the_wheel(wheel_bin: Path, demo_tmp: Path) -> None:
    where = subprocess.run(
        [str(wheel_bin / "python"), "-c", "import subsetter; print(subsetter.__file__)"],
        capture_output=True,
        text=True,
        cwd=demo_tmp,
        env=clean_env(),
    ).stdout
    assert "site-packages" in where and str(ROOT) not in where, where

    done = _subset(wheel_bin, "demo", cwd=demo_tmp)
    assert done.returncode == 0, done.stderr
    demo = demo_tmp / "subset-demo"
    assert (demo / "parquet" / "manifest.json").is_file()
    assert (demo / "demo.duckdb").is_file()
    assert (demo / "demo.yaml").read_text() == (ROOT / "subsetter/recipes/demo.yaml").read_text()
    assert sorted(p.name for p in demo_tmp.iterdir()) == ["subset-demo"]  # one directory
    assert not postgres_on(demo / "pg"), "the demo left its server running"
    assert not (demo / "pg" / "postmaster.pid").exists()

    # the hint names this venv's subset by its full path: it works without an activated venv
    verify = _printed(done.stdout, "next:")
    assert verify[0] == str(wheel_bin / "subset")
    checked = subprocess.run(verify, capture_output=True, text=True, cwd=demo_tmp, env=clean_env())
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "0 failed" in checked.stdout

    # --keep-running leaves the server up for the recipe, and prints how to stop it
    kept = _subset(wheel_bin, "demo", "--keep-running", cwd=demo_tmp)
    assert kept.returncode == 0, kept.stderr
    assert postgres_on(demo / "pg")
    preview = _printed(kept.stdout, "next:")
    shown = subprocess.run(preview, capture_output=True, text=True, cwd=demo_tmp, env=clean_env())
    assert shown.returncode == 0, shown.stderr
    assert "demo_lab.Subject" in shown.stdout
    (stop_line,) = [ln for ln in kept.stdout.splitlines() if " demo --stop " in ln]
    stopped = subprocess.run(shlex.split(stop_line), capture_output=True, text=True, cwd="/")
    assert stopped.returncode == 0, stopped.stderr
    assert "stopped" in stopped.stdout
    assert not postgres_on(demo / "pg")
