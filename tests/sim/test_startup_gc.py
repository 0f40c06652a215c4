"""Issue 19, fast start-up: the command process runs its start-up without cyclic garbage collection.

``sim.startup.pause_gc`` (called on importing ``sim.cli``) pauses the collector in the
``aidflow`` command's process; ``load_checked`` (run, compare, sweep, validate) or ``main``
(any other command) ends the pause with ``gc.freeze`` and ``gc.enable``. Checked in fresh
processes of the console script: no collection while the command imports its libraries and
loads the scenario, the collector on (and the start-up objects frozen) when the engine starts
and when the process exits. In-process callers (tests, notebooks) are never paused.
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sim import startup

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "scenarios" / "tiny.yaml"
SCRIPT = Path(sys.executable).parent / "aidflow"

# runs the console script as the console script runs, noting each collection (and whether the
# scenario checks had been imported yet: ``network.checks`` is imported inside load_checked),
# the collector's state when the engine starts and when the process exits
WATCH_GC = textwrap.dedent(
    """
    import atexit, gc, json, runpy, sys
    out = sys.argv.pop(1)
    seen = {"collections": [], "engine": None}
    def on_gc(phase, info):
        if phase == "start":
            seen["collections"].append([info["generation"], "sim.cli.application" in sys.modules,
                                        "network.checks" in sys.modules])
    gc.callbacks.append(on_gc)
    import sim.run
    engine = sim.run.run
    def watched(*a, **k):
        if seen["engine"] is None:
            seen["engine"] = [gc.isenabled(), gc.get_freeze_count()]
        return engine(*a, **k)
    sim.run.run = watched
    def note():
        seen["at_exit"] = gc.isenabled()
        with open(out, "w") as f:
            json.dump(seen, f)
    atexit.register(note)
    sys.argv = sys.argv[1:]
    runpy.run_path(sys.argv[0], run_name="__main__")
    """
)


def watch(tmp_path: Path, *args: str) -> dict[str, object]:
    """What WATCH_GC noted for ``aidflow ARGS`` (the console script in a fresh process, exit 0)."""
    noted = tmp_path / "gc.json"
    proc = subprocess.run(
        [sys.executable, "-c", WATCH_GC, str(noted), str(SCRIPT), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    seen: dict[str, object] = json.loads(noted.read_text(encoding="utf-8"))
    return seen


@pytest.fixture(scope="module")
def script() -> Path:
    if not SCRIPT.exists():
        pytest.skip(f"no aidflow console script next to {sys.executable}")
    return SCRIPT


def test_run_imports_and_loads_without_collecting_then_runs_the_engine_with_the_collector(
    tmp_path: Path, script: Path
) -> None:
    seen = watch(tmp_path, "run", str(TINY), "-n", "1", "--out", str(tmp_path / "run"), "-q", "--format", "json")
    collections = seen["collections"]
    assert isinstance(collections, list)
    during_startup = [c for c in collections if c[1] and not c[2]]
    assert during_startup == []  # before: dozens, and full ones over the whole start-up heap
    engine = seen["engine"]
    assert isinstance(engine, list)
    enabled, frozen = engine
    assert enabled is True
    assert frozen > 10_000  # the start-up objects (modules, classes, schemas, scenario) are frozen
    assert seen["at_exit"] is True


@pytest.mark.parametrize("args", [("--help",), ("validate", str(TINY)), ("schema",)])
def test_every_command_ends_the_pause(tmp_path: Path, script: Path, args: tuple[str, ...]) -> None:
    seen = watch(tmp_path, *args)
    assert seen["at_exit"] is True


def test_in_process_callers_are_never_paused() -> None:
    assert gc.isenabled()
    assert startup.pause_gc() is False  # this process is pytest, not the aidflow command
    assert gc.isenabled()
    assert startup.resume_gc() is False


def test_pause_and_resume_in_the_command_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(startup, "is_command_process", lambda: True)
    try:
        assert startup.pause_gc() is True
        assert not gc.isenabled()
        assert startup.pause_gc() is False  # one pause at a time
        assert startup.resume_gc_unless_loading(["run", "x.yaml"]) is False  # load_checked ends it
        assert not gc.isenabled()
        assert startup.resume_gc_unless_loading(["report", "runs/x"]) is True
        assert gc.isenabled()
        assert gc.get_freeze_count() > 0
        assert startup.resume_gc() is False
    finally:
        gc.unfreeze()
        gc.enable()
