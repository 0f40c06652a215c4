"""Determinism: same inputs give a byte-identical log, in any process; seeds and replications matter.

Hashes are of the table read back from Parquet, canonicalised by ``table_sha256`` (dictionary
columns cast to strings, Arrow IPC stream bytes, sha256). The subprocesses import that very
function from ``tests/sim/conftest.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest

from scenarios.schema import Scenario

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

SCRIPT = """
import importlib.util, sys, tempfile
from pathlib import Path
import pyarrow.parquet as pq
spec = importlib.util.spec_from_file_location("sim_conftest", sys.argv[1])
conf = importlib.util.module_from_spec(spec)
sys.modules["sim_conftest"] = conf
spec.loader.exec_module(conf)
from scenarios.load import load
from sim.run import run
scenario = load(conf.SMALL)
with tempfile.TemporaryDirectory() as d:
    for rep in map(int, sys.argv[2].split(",")):
        log, result = run(scenario, "baseline", rep)
        path = Path(d) / f"rep{rep}.parquet"
        pq.write_table(log.table(), path, compression="zstd")
        print(rep, result.status, conf.table_sha256(pq.read_table(path)))
"""

# (PYTHONHASHSEED, replications run in that order, one process each)
PROCESSES = [("0", "0"), ("1", "0"), ("2", "0"), ("0", "1,0")]


@pytest.fixture(scope="module")
def subprocess_hashes() -> dict[tuple[str, str], list[tuple[int, str, str]]]:
    """Run the small scenario in fresh interpreters (concurrently); (rep, status, sha256) per run."""
    procs = {}
    for hashseed, reps in PROCESSES:
        env = {**os.environ, "PYTHONHASHSEED": hashseed}
        procs[(hashseed, reps)] = subprocess.Popen(
            [sys.executable, "-c", SCRIPT, str(HERE / "conftest.py"), reps],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    out: dict[tuple[str, str], list[tuple[int, str, str]]] = {}
    for key, p in procs.items():
        stdout, stderr = p.communicate(timeout=120)
        assert p.returncode == 0, stderr
        out[key] = [(int(a), b, c) for a, b, c in (line.split() for line in stdout.splitlines())]
    return out


def test_same_seed_same_hash(small: Scenario, small_logs: dict, run_logged: Callable) -> None:
    first = small_logs["baseline"]
    again = run_logged(small)
    assert again.path != first.path
    assert again.sha256 == first.sha256
    assert again.table.equals(first.table)


def test_hash_is_canonical(small_logs: dict, table_sha256: Callable) -> None:
    """Chunking does not change the hash; one changed value does."""
    t = small_logs["baseline"].table
    rechunked = pa.Table.from_batches(t.to_batches(max_chunksize=17))
    assert rechunked.column("kind").num_chunks > 1
    assert table_sha256(rechunked) == small_logs["baseline"].sha256
    assert table_sha256(t) == small_logs["baseline"].sha256
    value = t.column("value").to_pylist()
    value[-1] = 1.0 + (value[-1] or 0.0)
    changed = t.set_column(t.schema.get_field_index("value"), "value", pa.array(value, type=pa.float64()))
    assert table_sha256(changed) != small_logs["baseline"].sha256


@pytest.mark.parametrize("hashseed", ["0", "1", "2"])
def test_same_hash_under_any_pythonhashseed(hashseed: str, subprocess_hashes: dict, small_logs: dict) -> None:
    [(rep, status, sha)] = subprocess_hashes[(hashseed, "0")]
    assert (rep, status) == (0, "completed")
    assert sha == small_logs["baseline"].sha256


def test_replication_zero_alone_or_after_one(subprocess_hashes: dict, small_logs: dict) -> None:
    (r1, _, sha1), (r0, _, sha0) = subprocess_hashes[("0", "1,0")]
    assert (r1, r0) == (1, 0)
    assert sha0 == subprocess_hashes[("0", "0")][0][2] == small_logs["baseline"].sha256
    assert sha1 != sha0


def test_replication_zero_after_one_in_process(small: Scenario, small_logs: dict, run_logged: Callable) -> None:
    one = run_logged(small, replication=1)
    zero = run_logged(small, replication=0)
    assert zero.sha256 == small_logs["baseline"].sha256
    assert one.sha256 != zero.sha256
    assert one.result.replication == 1 and one.result.seed == small.seed


def test_different_seed_different_hash(small: Scenario, small_logs: dict, run_logged: Callable) -> None:
    hashes = {small_logs["baseline"].sha256}
    for seed in (1, 2, small.seed + 1):
        lg = run_logged(small, seed=seed)
        assert lg.result.seed == seed
        hashes.add(lg.sha256)
    assert len(hashes) == 4


def test_strategies_are_deterministic(small: Scenario, small_logs: dict, run_logged: Callable) -> None:
    for name, lg in small_logs.items():
        assert run_logged(small, name).sha256 == lg.sha256, name
    assert small_logs["bilateral"].sha256 != small_logs["baseline"].sha256
