"""results.store.parquet_out writes the bytes pyarrow.parquet writes, without importing it (issue 19).

The store writes event parts and ``kpis.parquet`` through ``pyarrow._parquet`` directly so that
a run never imports ``pyarrow.parquet`` and, through it, ``pyarrow.fs`` and ``ssl``. These
tests pin that the files are byte for byte those of ``pyarrow.parquet`` (so a pyarrow upgrade
that changes the writer's defaults fails here), and that the run path leaves those modules out.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from results.store.parquet_out import ParquetFileWriter, write_table
from scenarios.load import load
from sim.log import arrow_schema
from sim.run import run

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "scenarios" / "tiny.yaml"


def event_batches() -> list[pa.RecordBatch]:
    """The tiny scenario's event log in several small batches (dictionary and numeric columns)."""
    batches: list[pa.RecordBatch] = []
    run(load(TINY), "baseline", 0, 7, sink=batches.append, rows_per_batch=64)
    assert len(batches) > 3 and all(b.schema.equals(arrow_schema(), check_metadata=False) for b in batches)
    return batches


def test_an_event_part_is_byte_identical_to_pyarrow_parquet(tmp_path: Path) -> None:
    batches = event_batches()
    ours, theirs = tmp_path / "ours.parquet", tmp_path / "theirs.parquet"
    with ParquetFileWriter(ours, arrow_schema()) as writer:
        for b in batches:
            writer.write_batch(b, row_group_size=max(1, b.num_rows))
    reference = pq.ParquetWriter(theirs, arrow_schema(), compression="zstd")
    for b in batches:
        reference.write_batch(b, row_group_size=max(1, b.num_rows))
    reference.close()
    assert ours.read_bytes() == theirs.read_bytes()
    back = pq.ParquetFile(ours)
    assert back.metadata.num_row_groups == len(batches)
    assert back.read().equals(pa.Table.from_batches(batches))


def test_a_table_is_byte_identical_to_pyarrow_parquet_write_table(tmp_path: Path) -> None:
    table = pa.table(
        {
            "strategy": pa.array(["baseline", "baseline", "b"]).dictionary_encode(),
            "kpi": ["otif", "fill_rate", "units_delivered"],
            "item": ["drone", None, "drone"],
            "replication": pa.array([0, 0, 1], pa.int32()),
            "value": [0.5, float("nan"), 1000.0],
        }
    )
    write_table(table, tmp_path / "ours.parquet")
    pq.write_table(table, tmp_path / "theirs.parquet", compression="zstd")
    assert (tmp_path / "ours.parquet").read_bytes() == (tmp_path / "theirs.parquet").read_bytes()


def test_a_table_of_another_schema_is_refused(tmp_path: Path) -> None:
    with ParquetFileWriter(tmp_path / "x.parquet", pa.schema([("a", pa.int64())])) as writer:
        with pytest.raises(ValueError, match="schema does not match"):
            writer.write_table(pa.table({"b": [1]}))
        writer.close()  # closing twice does nothing


def test_a_tiny_run_imports_neither_pyarrow_parquet_nor_its_filesystems(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "aidflow"
    if not script.exists():
        pytest.skip(f"no aidflow console script next to {sys.executable}")
    noted, out = tmp_path / "modules.json", tmp_path / "run"
    code = (
        "import atexit, json, runpy, sys\n"
        f"atexit.register(lambda: json.dump(sorted(sys.modules), open({str(noted)!r}, 'w')))\n"
        "sys.argv = sys.argv[1:]\n"
        "runpy.run_path(sys.argv[0], run_name='__main__')\n"
    )
    args = ["run", str(TINY), "-n", "1", "--out", str(out), "-q", "--format", "json"]
    proc = subprocess.run(
        [sys.executable, "-c", code, str(script), *args], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    modules = set(json.loads(noted.read_text(encoding="utf-8")))
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8"))["status"] == "completed"
    assert {"pyarrow", "pyarrow._parquet"} <= modules  # it did write Parquet
    assert (
        sorted(m for m in ("pyarrow.parquet", "pyarrow.fs", "pyarrow._fs", "pyarrow._s3fs", "ssl") if m in modules)
        == []
    )
