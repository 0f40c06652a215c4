"""The run directory: atomic writes, Parquet parts from a writer thread, manifest, resume."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from results.store.atomic import atomic_write_bytes, atomic_write_json, atomic_write_text
from results.store.hashing import table_sha256
from results.store.layout import TMP_PREFIX, StoreError
from results.store.part_writer import PartWriter
from results.store.reading import read_events
from results.store.run_store import RunStore, read_manifest
from scenarios.errors import AidflowError
from scenarios.load import load
from scenarios.schema import Scenario
from sim.log import arrow_schema
from sim.run import RunResult, run

SMALL = Path(__file__).resolve().parents[2] / "scenarios" / "small_routers.yaml"


@pytest.fixture(scope="module")
def small() -> Scenario:
    return load(SMALL)


def tmp_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob(f"{TMP_PREFIX}*"))


def write_part(path: Path, s: Scenario, replication: int = 0, rows_per_batch: int = 64) -> tuple[str, int, RunResult]:
    path.parent.mkdir(parents=True, exist_ok=True)
    w = PartWriter(path)
    _, res = run(s, replication=replication, sink=w, rows_per_batch=rows_per_batch)
    sha, rows = w.close()
    return sha, rows, res


# --------------------------------------------------------------------------- atomic writes


def test_atomic_writes_leave_no_temp_files(tmp_path: Path) -> None:
    atomic_write_bytes(tmp_path / "a.bin", b"one")
    atomic_write_bytes(tmp_path / "a.bin", b"two")  # replaces
    atomic_write_text(tmp_path / "b.txt", "héllo\n")
    atomic_write_json(tmp_path / "c.json", {"b": 1, "a": [1.5, None]})
    assert (tmp_path / "a.bin").read_bytes() == b"two"
    assert (tmp_path / "b.txt").read_text(encoding="utf-8") == "héllo\n"
    assert json.loads((tmp_path / "c.json").read_text()) == {"a": [1.5, None], "b": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin", "b.txt", "c.json"]


def test_failed_atomic_write_keeps_the_old_file(tmp_path: Path) -> None:
    atomic_write_json(tmp_path / "m.json", {"ok": True})
    with pytest.raises(ValueError):
        atomic_write_json(tmp_path / "m.json", {"bad": math.nan})
    assert json.loads((tmp_path / "m.json").read_text()) == {"ok": True}
    assert tmp_files(tmp_path) == []


# --------------------------------------------------------------------------- parts


def test_part_writer_writes_row_groups_and_file_sha(tmp_path: Path, small: Scenario) -> None:
    path = tmp_path / "part.parquet"
    sha, rows, res = write_part(path, small, rows_per_batch=64)
    assert sha == hashlib.sha256(path.read_bytes()).hexdigest()
    assert rows == res.rows
    f = pq.ParquetFile(path)
    assert f.metadata.num_rows == rows
    assert f.num_row_groups > 3  # one row group per flushed batch of >= 64 rows
    assert all(f.metadata.row_group(i).num_rows >= 64 for i in range(f.num_row_groups - 1))
    assert f.metadata.row_group(0).column(0).compression == "ZSTD"
    back = f.read()
    assert back.schema.equals(arrow_schema())
    assert back.column("seq").to_pylist() == list(range(rows))
    # the content on disk is the content the engine produced in memory
    log, _ = run(small)
    assert table_sha256(back) == table_sha256(log.table())
    assert tmp_files(tmp_path) == []


def test_identical_runs_give_identical_part_sha(tmp_path: Path, small: Scenario) -> None:
    a, _, _ = write_part(tmp_path / "a" / "rep=0.parquet", small)
    b, _, _ = write_part(tmp_path / "b" / "rep=0.parquet", small)
    c, _, _ = write_part(tmp_path / "c" / "rep=1.parquet", small, replication=1)
    assert a == b
    assert a != c


def test_part_writer_error_is_raised_on_close(tmp_path: Path) -> None:
    path = tmp_path / "bad.parquet"
    w = PartWriter(path, max_queued_batches=1)
    wrong = pa.record_batch({"x": [1, 2, 3]})
    w(wrong)
    with pytest.raises(StoreError, match=r"bad\.parquet"):
        w.close()
    assert not path.exists()
    assert tmp_files(tmp_path) == []


def test_part_writer_queue_bounds_memory(tmp_path: Path, small: Scenario) -> None:
    """A stalled writer thread blocks the producer after ``max_queued_batches`` batches."""
    log, _ = run(small, rows_per_batch=16)
    batches = log.batches
    assert len(batches) >= 6
    w = PartWriter(tmp_path / "p.parquet", max_queued_batches=2)
    gate = threading.Event()
    write = w._writer.write_batch

    def slow_write(batch: pa.RecordBatch, row_group_size: int | None = None) -> None:
        gate.wait()
        write(batch, row_group_size=row_group_size)

    w._writer.write_batch = slow_write
    fed: list[int] = []

    def produce() -> None:
        for b in batches:
            w(b)
            fed.append(b.num_rows)

    producer = threading.Thread(target=produce)
    producer.start()
    time.sleep(0.3)
    assert len(fed) <= w.max_queued_batches + 1  # queued + the one the thread holds
    gate.set()
    producer.join(timeout=10)
    sha, rows = w.close()
    assert len(fed) == len(batches) and rows == sum(b.num_rows for b in batches)
    assert pq.ParquetFile(tmp_path / "p.parquet").num_row_groups == len(batches)
    assert sha == hashlib.sha256((tmp_path / "p.parquet").read_bytes()).hexdigest()


def test_part_writer_abort_removes_the_temp_file(tmp_path: Path, small: Scenario) -> None:
    w = PartWriter(tmp_path / "p.parquet")
    log, _ = run(small, rows_per_batch=64)
    for b in log.batches[:3]:
        w(b)
    assert w.tmp_path.exists()
    w.abort()
    assert not (tmp_path / "p.parquet").exists()
    assert tmp_files(tmp_path) == []
    with pytest.raises(StoreError, match="aborted"):
        w.close()
    with PartWriter(tmp_path / "q.parquet") as q:  # a context manager closes on success...
        q(log.batches[0])
    assert pq.ParquetFile(tmp_path / "q.parquet").metadata.num_rows == log.batches[0].num_rows
    with pytest.raises(RuntimeError), PartWriter(tmp_path / "r.parquet") as r:  # ...and aborts on error
        r(log.batches[0])
        raise RuntimeError("engine failed")
    assert not (tmp_path / "r.parquet").exists()
    assert tmp_files(tmp_path) == []


def test_table_sha256_is_independent_of_chunks_and_dictionaries() -> None:
    plain = pa.table({"k": ["a", None, "b", "a"], "v": [1.0, 2.0, None, 4.0], "n": [1, 2, 3, 4]})
    dic = plain.set_column(0, "k", plain.column("k").dictionary_encode())
    chunked = pa.concat_tables([plain.slice(0, 1), plain.slice(1)])
    assert table_sha256(plain) == table_sha256(dic) == table_sha256(chunked)
    changed = plain.set_column(1, "v", pa.chunked_array([[1.0, 2.0, 0.0, 4.0]]))
    assert table_sha256(changed) != table_sha256(plain)  # a null is not a zero


# --------------------------------------------------------------------------- run store


def test_run_store_refuses_a_non_empty_directory(tmp_path: Path) -> None:
    root = tmp_path / "run"
    root.mkdir()
    (root / "notes.txt").write_text("mine")
    with pytest.raises(StoreError, match="not empty") as info:
        RunStore(root)
    assert isinstance(info.value, AidflowError)
    (root / "kpis.parquet").write_bytes(b"old")
    (root / "events").mkdir()
    RunStore(root, overwrite=True)  # no manifest: removes only aidflow's files
    assert sorted(p.name for p in root.iterdir()) == ["manifest.json", "notes.txt"]
    (root / "report.html").write_text("x")
    RunStore(root, overwrite=True)  # a run directory: cleared whole
    assert sorted(p.name for p in root.iterdir()) == ["manifest.json"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(StoreError, match="not a directory"):
        RunStore(tmp_path / "file")


def test_run_store_manifest_parts_and_reading_back(tmp_path: Path, small: Scenario) -> None:
    root = tmp_path / "run"
    store = RunStore(root, scenario_name=small.name, scenario_sha256="ab" * 32, seeds=[small.seed], args=["run", "x"])
    store.write_scenario("name: small_routers\n")
    assert read_manifest(root)["scenario_resolved_sha256"] == hashlib.sha256(b"name: small_routers\n").hexdigest()
    for strategy, rep in (("baseline", 0), ("baseline", 1), ("more_lanes", 0)):
        w = store.open_part(strategy, rep)
        _, res = run(small, strategy, rep, sink=w, rows_per_batch=128)
        sha, rows = w.close()
        store.finish_part(strategy, rep, sha, rows, dataclasses.asdict(res))
    store.set_status("completed")

    m = read_manifest(root)
    assert m["status"] == "completed"
    assert m["scenario"] == "small_routers" and m["seeds"] == [small.seed] and m["args"] == ["run", "x"]
    assert set(m["versions"]) == {"python", "simpy", "numpy", "pyarrow", "pydantic", "networkx"}
    assert m["started"] <= m["finished"] and m["wall_s"] >= 0 and m["error"] is None
    assert m["aidflow_version"]
    assert [(p["strategy"], p["replication"]) for p in m["parts"]] == [
        ("baseline", 0),
        ("baseline", 1),
        ("more_lanes", 0),
    ]
    part = m["parts"][0]
    assert part["path"] == "events/strategy=baseline/rep=0.parquet"
    assert {"sha256", "rows", "status", "end_day", "counters", "error"} <= set(part)
    assert part["status"] == "completed" and part["counters"]["units_delivered"] == 1318

    assert RunStore.open_existing(root).finished_parts() == {("baseline", 0), ("baseline", 1), ("more_lanes", 0)}
    one = read_events(root, "baseline", 1)
    assert one.schema.equals(arrow_schema()) and one.num_rows == m["parts"][1]["rows"]
    every = read_events(root)
    assert every.num_rows == sum(p["rows"] for p in m["parts"])
    assert every.column_names[-2:] == ["strategy", "replication"]
    assert set(zip(every.column("strategy").to_pylist(), every.column("replication").to_pylist(), strict=True)) == {
        ("baseline", 0),
        ("baseline", 1),
        ("more_lanes", 0),
    }
    assert read_events(root, strategy="more_lanes").num_rows == m["parts"][2]["rows"]
    with pytest.raises(StoreError, match="no event part"):
        read_events(root, "bilateral")

    import duckdb  # design.md: DuckDB reads the parts with SQL

    glob = (root / "events" / "*" / "*.parquet").as_posix()
    counts = duckdb.execute(
        f"SELECT strategy, count(*) AS n FROM read_parquet('{glob}', hive_partitioning = true) GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert counts == [
        ("baseline", m["parts"][0]["rows"] + m["parts"][1]["rows"]),
        ("more_lanes", m["parts"][2]["rows"]),
    ]

    store.write_kpis(pa.table({"kpi": ["x"], "value": [1.0]}))
    assert pq.read_table(root / "kpis.parquet").num_rows == 1
    assert read_manifest(root)["kpis"]["rows"] == 1
    assert tmp_files(root) == []
    with pytest.raises(StoreError):
        store.part_path("../evil", 0)
    with pytest.raises(StoreError):
        store.set_status("done")


def test_finished_parts_ignore_broken_parts_and_clean_temp_files(tmp_path: Path, small: Scenario) -> None:
    root = tmp_path / "run"
    store = RunStore(root, scenario_name=small.name)
    for rep in (0, 1):
        w = store.open_part("baseline", rep)
        _, res = run(small, replication=rep, sink=w)
        sha, rows = w.close()
        store.finish_part("baseline", rep, sha, rows, dataclasses.asdict(res))
    # a crash: a half-written part under its temp name, a part not yet in the manifest,
    # and a listed part damaged afterwards
    folder = root / "events" / "strategy=baseline"
    (folder / f"{TMP_PREFIX}rep=2.parquet.deadbeef").write_bytes(b"PAR1 half a file")
    (folder / "rep=3.parquet").write_bytes((folder / "rep=0.parquet").read_bytes())
    (folder / "rep=1.parquet").write_bytes(b"garbage")
    (root / f"{TMP_PREFIX}manifest.json.cafe").write_text("{")

    resumed = RunStore.open_existing(root)
    assert tmp_files(root) == []
    assert resumed.finished_parts() == {("baseline", 0)}


def test_a_killed_run_leaves_no_unreadable_file(tmp_path: Path) -> None:
    root = tmp_path / "run"
    script = textwrap.dedent(
        f"""
        import dataclasses, os
        from scenarios.load import load
        from sim.run import run
        from results.store.run_store import RunStore

        s = load({str(SMALL)!r})
        store = RunStore({str(root)!r}, scenario_name=s.name)
        w = store.open_part("baseline", 0)
        _, res = run(s, sink=w, rows_per_batch=64)
        sha, rows = w.close()
        store.finish_part("baseline", 0, sha, rows, dataclasses.asdict(res))
        w = store.open_part("baseline", 1)
        seen = 0

        def sink(batch):
            global seen
            w(batch)
            seen += 1
            if seen == 3:
                os._exit(9)  # killed in the middle of a part

        run(s, replication=1, sink=sink, rows_per_batch=64)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 9, proc.stderr
    assert any(p.name.startswith(f"{TMP_PREFIX}rep=1.parquet") for p in tmp_files(root))
    # every file under a final name is complete
    m = read_manifest(root)
    assert m["status"] == "running"
    for p in root.rglob("*.parquet"):
        if not p.name.startswith(TMP_PREFIX):
            pq.ParquetFile(p).read()
    store = RunStore.open_existing(root)
    assert tmp_files(root) == []
    assert store.finished_parts() == {("baseline", 0)}
