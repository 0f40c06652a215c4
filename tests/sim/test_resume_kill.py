"""A run SIGKILLed at random moments leaves only readable files, and ``--resume`` finishes it.

``aidflow run fpv_drones_2024_2025.yaml -n 6`` (a few seconds of work) is started and SIGKILLed
after a random delay, four times; each time the next start resumes it (``--resume``; a fresh
start if the kill came before the run directory had a manifest). After each kill every file
of the run directory under its final name is readable — ``manifest.json`` parses, every
``*.parquet`` reads with pyarrow, every part the manifest lists has its recorded sha256 — and
then a last ``--resume`` completes the run. At the end no temporary file (``.tmp-*``) is left
and the parts and ``kpis.parquet`` equal those of an uninterrupted run (run alongside).

The delays are drawn from a seeded generator (the seed is printed; ``AIDFLOW_KILL_SEED`` sets
it). If no random kill happened to land while parts were being written, one more kill is made
right after a part appears, so the test always covers a kill in the middle of a run.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from ruamel.yaml import YAML

from results.store.hashing import sha256_file, table_sha256
from results.store.layout import TMP_PREFIX
from results.store.reading import read_events
from results.store.run_store import read_manifest

ROOT = Path(__file__).resolve().parents[2]
FPV = ROOT / "scenarios" / "fpv_drones_2024_2025.yaml"
BIN = Path(sys.executable).parent
AIDFLOW = [str(BIN / "aidflow")] if (BIN / "aidflow").exists() else [sys.executable, "-m", "sim.cli"]
ENV = {k: v for k, v in os.environ.items() if k != "AIDFLOW_DEBUG"}
REPS = 6
KILLS = 4
pytestmark = pytest.mark.slow  # tests/conftest.py starts the slow files first


def start(run_dir: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*AIDFLOW, "run", str(FPV), "-n", str(REPS), "--out", str(run_dir), "--quiet", *extra],
        cwd=run_dir.parent,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )


def next_start(run_dir: Path) -> subprocess.Popen[str]:
    """Resume when there is a manifest to resume, otherwise start afresh."""
    if (run_dir / "manifest.json").exists():
        return start(run_dir, "--resume")
    return start(run_dir, "--overwrite")


def sigkill(p: subprocess.Popen[str]) -> bool:
    """SIGKILL ``p`` if it still runs; True if it was killed."""
    if p.poll() is not None:
        return False
    os.kill(p.pid, signal.SIGKILL)
    p.wait(10)
    return True


def parts_on_disk(run_dir: Path) -> int:
    """Event parts under their final name (listed in the manifest or not yet)."""
    return len(list((run_dir / "events").glob("strategy=*/rep=*.parquet")))


def check_readable(run_dir: Path) -> int:
    """Every file under a final name is readable; returns the number of parts on disk."""
    if not run_dir.exists():
        return 0
    listed = 0
    for path in sorted(run_dir.rglob("*")):
        if path.is_dir() or path.name.startswith(TMP_PREFIX):
            continue
        if path.name == "manifest.json":
            m = json.loads(path.read_text(encoding="utf-8"))
            assert isinstance(m, dict) and isinstance(m["parts"], list)
            for part in m["parts"]:
                f = run_dir / part["path"]
                assert f.is_file(), f"the manifest lists {part['path']}, which is missing"
                assert sha256_file(f) == part["sha256"], f"{part['path']}: sha256 differs from the manifest"
            listed = len(m["parts"])
            assert listed <= parts_on_disk(run_dir)
        elif path.suffix == ".parquet":
            t = pq.ParquetFile(path).read()
            assert t.num_rows > 0, path
        elif path.suffix == ".yaml":
            assert isinstance(YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8")), dict), path
        else:
            raise AssertionError(f"unexpected file {path}")
    return parts_on_disk(run_dir)


def results(run_dir: Path) -> tuple[dict[Any, str], dict[Any, str], Any]:
    m = read_manifest(run_dir)
    parts = {(p["strategy"], p["replication"]): p["sha256"] for p in m["parts"]}
    content = {k: table_sha256(read_events(run_dir, *k)) for k in parts}
    return parts, content, pq.read_table(run_dir / "kpis.parquet")


def test_sigkill_at_random_moments_then_resume(tmp_path: Path) -> None:
    seed = int(os.environ.get("AIDFLOW_KILL_SEED", random.SystemRandom().randrange(2**32)))
    rng = random.Random(seed)
    run_dir = tmp_path / "killed"
    history: list[str] = []
    mid_run = False  # a kill that stopped a start after it had written parts
    procs = [start(tmp_path / "uninterrupted")]
    try:
        for _ in range(KILLS):
            delay = rng.uniform(0.3, 3.0)
            before = check_readable(run_dir)
            procs.append(p := next_start(run_dir))
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(delay)
            killed = sigkill(p)
            after = check_readable(run_dir)
            mid_run |= killed and after > before
            history.append(f"{delay:.2f}s: {'killed' if killed else f'exit {p.returncode}'}, {after} parts")
        before = check_readable(run_dir)
        if not mid_run and before < REPS:
            # the random moments all fell before the first part or after the last: kill once
            # more, right after the next part appears
            procs.append(p := next_start(run_dir))
            deadline = time.monotonic() + 60
            while p.poll() is None and time.monotonic() < deadline:
                if parts_on_disk(run_dir) > before:
                    break
                time.sleep(0.005)
            killed = sigkill(p)
            after = check_readable(run_dir)
            mid_run = killed and after > before
            history.append(f"on a new part: {'killed' if killed else 'exited'}, {after} parts")
        procs.append(final := next_start(run_dir))
        _, err = final.communicate(timeout=120)
        assert final.returncode == 0, err[-3000:]
        _, ref_err = procs[0].communicate(timeout=120)
        assert procs[0].returncode == 0, ref_err[-3000:]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
    story = f"seed {seed}: " + "; ".join(history)
    print(story)
    assert mid_run, f"no kill landed while parts were written ({story})"
    assert check_readable(run_dir) == REPS
    assert not [p for p in run_dir.rglob(f"{TMP_PREFIX}*")], f"temporary files survived ({story})"
    m = read_manifest(run_dir)
    assert m["status"] == "completed", story
    assert sorted(p["replication"] for p in m["parts"]) == list(range(REPS))
    parts, content, kpis = results(run_dir)
    ref_parts, ref_content, ref_kpis = results(tmp_path / "uninterrupted")
    assert parts == ref_parts, story
    assert content == ref_content, story
    assert kpis.equals(ref_kpis), story
    assert table_sha256(kpis) == table_sha256(ref_kpis)
