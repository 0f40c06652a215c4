"""The run store's writes: every file's data on disk before its rename, every rename made durable
by a folder fsync before the call that made it returns, and no folder fsynced twice for nothing.

Issue 19 (start-up): a tiny ``aidflow run`` made 18 fsyncs. ``RunStore.write_scenario`` and
``write_kpis`` rename a file into the run folder and then rewrite the manifest in the same
folder: one folder fsync after both renames makes both durable, so the first is left out.
Recorded here by wrapping ``os.fsync`` and ``os.replace`` (Linux: an fsync's file is read
from ``/proc/self/fd``). Also: the manifest's package versions are the installed ones.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pyarrow as pa
import pytest

from results.store import run_store
from results.store.run_store import RunStore
from sim.log import arrow_schema

pytestmark = pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc/self/fd")


class Recorder:
    """The order of fsyncs (of a file or folder path) and renames (source, destination)."""

    def __init__(self) -> None:
        self.ops: list[tuple[str, Path, Path | None]] = []

    def fsync(self, fd: int) -> None:
        self.ops.append(("fsync", Path(os.readlink(f"/proc/self/fd/{fd}")), None))
        REAL_FSYNC(fd)

    def replace(self, src: str | Path, dst: str | Path) -> None:
        REAL_REPLACE(src, dst)
        self.ops.append(("rename", Path(src).resolve(), Path(dst).resolve()))

    def take(self) -> list[tuple[str, Path, Path | None]]:
        ops, self.ops = self.ops, []
        return ops


REAL_FSYNC = os.fsync
REAL_REPLACE = os.replace


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorder]:
    rec = Recorder()
    monkeypatch.setattr(os, "fsync", rec.fsync)
    monkeypatch.setattr(os, "replace", rec.replace)
    yield rec


def check_durable(ops: list[tuple[str, Path, Path | None]]) -> None:
    """Each rename's source fsynced before it; each rename's folder fsynced after it."""
    for i, (op, src, dst) in enumerate(ops):
        if op != "rename":
            continue
        assert dst is not None
        assert ("fsync", src, None) in ops[:i], f"{src.name} renamed before its data was fsynced"
        assert ("fsync", dst.parent, None) in ops[i + 1 :], f"rename to {dst.name} not made durable"


def folder_fsyncs(ops: list[tuple[str, Path, Path | None]]) -> int:
    return sum(1 for op, p, _ in ops if op == "fsync" and p.is_dir())


def test_a_runs_writes_are_durable_with_one_folder_fsync_per_call(tmp_path: Path, recorder: Recorder) -> None:
    root = tmp_path / "run"
    store = RunStore(root, scenario_name="tiny", seeds=[1], args=["run"])
    created = recorder.take()
    check_durable(created)
    store.write_scenario("name: tiny\n")
    written = recorder.take()
    check_durable(written)
    assert [op for op, _, _ in written].count("rename") == 2  # scenario.resolved.yaml, manifest.json
    assert folder_fsyncs(written) == 1  # before: 2, one per rename in the same folder
    store.update(replications=1)
    check_durable(recorder.take())

    writer = store.open_part("baseline", 0)
    schema = arrow_schema()
    writer(pa.RecordBatch.from_arrays([pa.nulls(3, f.type) for f in schema], schema=schema))
    sha, rows = writer.close()
    store.finish_part("baseline", 0, sha, rows)
    part = recorder.take()
    check_durable(part)
    assert {p for op, p, _ in part if op == "fsync" and p.is_dir()} == {root, store.part_path("baseline", 0).parent}

    store.write_kpis(pa.table({"kpi": ["a"], "value": [1.0]}))
    kpis = recorder.take()
    check_durable(kpis)
    assert [op for op, _, _ in kpis].count("rename") == 2  # kpis.parquet, manifest.json
    assert folder_fsyncs(kpis) == 1  # before: 2
    store.set_status("completed")
    check_durable(recorder.take())
    assert (root / "scenario.resolved.yaml").read_text(encoding="utf-8") == "name: tiny\n"


def test_package_versions_are_the_installed_ones() -> None:
    """Read from ``__version__`` when imported: the same strings as the installed metadata."""
    versions = run_store.package_versions()
    for name in run_store._PACKAGES:
        try:
            installed: str | None = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        assert versions[name] == installed, name
        loaded = getattr(sys.modules.get(name), "__version__", None)
        if loaded is not None:
            assert loaded == installed, name
