"""KPIs counted while the run goes equal the KPIs read back from the part it wrote.

``results.kpis.live.LiveKpis`` is fed every record batch a ``PartWriter`` writes (its ``tap``). For library scenarios, with small batches so that a part has many row
groups (and instants are cut across batches), its table must be the table
``results.kpis.kpi_table_of_part`` computes from the written part: same rows in the same
order, bit-equal when fed the slices the read-back feeds, else counts exactly and floats to
1e-9 (summation order).
The writer must hand the tap the batch it wrote, unchanged. In ``aidflow run``
(``sim.cli.execute.execute``) ``kpis.parquet`` must equal the read-back computation without
reading any part back, and a ``--resume`` must read back only the parts of the earlier process.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from rich.console import Console

import results.kpis as kpis_module
from results.kpis import kpi_table_of_part
from results.kpis.live import LiveKpis
from results.kpis.stream import KpiStream
from results.store.part_writer import PartWriter
from results.store.run_store import read_manifest
from scenarios.load import load
from scenarios.schema import Scenario
from scenarios.strategies import apply_overrides
from sim.cli.execute import Experiment, execute
from sim.run import run

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = sorted(p.stem for p in (ROOT / "scenarios").glob("*.yaml"))
QUIET = Console(stderr=True, quiet=True)


def _rows(table: pa.Table) -> list[dict[str, Any]]:
    return table.to_pylist()


def _same_table(got: pa.Table, want: pa.Table) -> None:
    """Same rows in the same order; values equal for counts, to 1e-9 otherwise (summation order)."""
    assert got.schema == want.schema
    g_rows, w_rows = _rows(got), _rows(want)
    assert [{k: v for k, v in r.items() if k != "value"} for r in g_rows] == [
        {k: v for k, v in r.items() if k != "value"} for r in w_rows
    ]
    for g, w in zip(g_rows, w_rows, strict=True):
        gv, wv = g["value"], w["value"]
        if gv is None or wv is None:
            assert gv is wv, (g, w)
        else:
            assert math.isclose(gv, wv, rel_tol=1e-9, abs_tol=1e-12), (g, w)


def _part_dir(root: Path, label: str) -> Path:
    path = root / "events" / f"strategy={label}" / "rep=0.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _cases() -> list[tuple[str, str]]:
    out = []
    for name in LIBRARY:
        s = load(ROOT / "scenarios" / f"{name}.yaml")
        out.append((name, "baseline"))
        out.extend((name, st.name) for st in s.strategies[:1])
    return out


@pytest.mark.parametrize(("name", "strategy"), _cases())
def test_live_kpis_equal_the_part_read_back(name: str, strategy: str, tmp_path: Path) -> None:
    base = load(ROOT / "scenarios" / f"{name}.yaml")
    resolved = base.with_strategy(strategy)
    live = LiveKpis(resolved)  # fed the batches the part's row groups hold: what the read-back feeds
    cut = LiveKpis(resolved, chunk_rows=37)  # cut elsewhere, also inside instants

    def tap(batch: pa.RecordBatch) -> None:
        live(batch)
        cut(batch)

    writer = PartWriter(_part_dir(tmp_path, strategy), tap=tap)
    _, result = run(resolved, "baseline", 0, sink=writer, rows_per_batch=100)
    writer.close()
    assert writer.row_groups >= 4
    assert live.rows == cut.rows == result.rows
    want = kpi_table_of_part(tmp_path, base, strategy, 0, end=result.end_day)
    assert want.num_rows > 0
    assert live.table(strategy, 0, result.end_day).equals(want)  # bit-equal
    _same_table(cut.table(strategy, 0, result.end_day), want)


def _copy(batch: pa.RecordBatch) -> pa.RecordBatch:
    """A deep copy (through an IPC stream: new buffers, same dictionaries)."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as w:
        w.write_batch(batch)
    with pa.ipc.open_stream(sink.getvalue()) as r:
        return r.read_next_batch()


def test_the_tap_sees_the_written_batches_unchanged(tmp_path: Path) -> None:
    s = load(ROOT / "scenarios" / "small_routers.yaml")
    handed: list[pa.RecordBatch] = []
    tapped: list[pa.RecordBatch] = []
    path = _part_dir(tmp_path, "baseline")
    writer = PartWriter(path, tap=tapped.append)

    def sink(batch: pa.RecordBatch) -> None:
        handed.append(_copy(batch))
        writer(batch)

    _, result = run(s, "baseline", 0, sink=sink, rows_per_batch=100)
    writer.close()
    assert len(tapped) == len(handed) == writer.row_groups >= 2
    for got, want in zip(tapped, handed, strict=True):
        assert got.equals(want)
    assert pa.Table.from_batches(tapped).equals(pq.read_table(path).select(tapped[0].schema.names))
    assert sum(b.num_rows for b in tapped) == result.rows


def test_a_tap_error_fails_the_part(tmp_path: Path) -> None:
    s = load(ROOT / "scenarios" / "small_routers.yaml")

    def tap(batch: pa.RecordBatch) -> None:
        raise ValueError("no room")

    path = _part_dir(tmp_path, "baseline")
    writer = PartWriter(path, tap=tap)
    with pytest.raises(Exception, match="no room"):
        run(s, "baseline", 0, sink=writer, rows_per_batch=500)
        writer.close()
    writer.abort()
    assert not path.exists()


def test_the_end_given_at_finish_is_the_end_given_at_the_start() -> None:
    s = load(ROOT / "scenarios" / "border_disruption.yaml")
    log, result = run(s, "baseline", 0)
    table = log.table()
    end = result.end_day - 0.5 * s.horizon_days  # an end other than the default (horizon)
    late = table.filter(pa.compute.less_equal(table.column("t"), end))
    at_start, at_finish = KpiStream(s, end=end), KpiStream(s)
    for b in late.to_batches(max_chunksize=700):
        at_start.feed(b)
        at_finish.feed(b)
    want = at_start.finish()
    got = at_finish.finish(end)
    assert got == want
    defaulted = KpiStream(s)
    defaulted.feed(late)
    assert defaulted.finish() != want  # the end matters: horizon by default


def test_finish_refuses_rows_after_the_end() -> None:
    s = load(ROOT / "scenarios" / "small_routers.yaml")
    log, result = run(s, "baseline", 0)
    ks = KpiStream(s)
    ks.feed(log.table())
    with pytest.raises(ValueError, match="later than the end"):
        ks.finish(result.end_day / 4)
    other = KpiStream(s, end=result.end_day)
    other.feed(log.table())
    with pytest.raises(ValueError, match="given to finish"):
        other.finish(result.end_day - 1.0)


# --------------------------------------------------------------------------- through the CLI


def _resolved(s: Scenario, strategy: str, point: dict[str, Any] | None) -> Scenario:
    r = s.with_strategy(strategy)
    return r if point is None else apply_overrides(r, point, ("sweep",))


def _read_back(out: Path, s: Scenario, labels: list[tuple[str, Scenario]], reps: int) -> pa.Table:
    end_days = {(p["strategy"], p["replication"]): p["end_day"] for p in read_manifest(out)["parts"]}
    return pa.concat_tables(
        kpi_table_of_part(out, sc, label, rep, end=end_days[(label, rep)])
        for label, sc in labels
        for rep in range(reps)
    )


@pytest.fixture
def read_backs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Parts the CLI reads back to compute KPIs (``kpi_table_of_part`` calls)."""
    calls: list[tuple[str, int]] = []
    real = kpis_module.kpi_table_of_part

    def counting(run_dir: Any, scenario: Scenario, strategy: str, replication: int, *args: Any, **kw: Any) -> Any:
        calls.append((strategy, replication))
        return real(run_dir, scenario, strategy, replication, *args, **kw)

    monkeypatch.setattr(kpis_module, "kpi_table_of_part", counting)
    return calls


def test_cli_kpis_are_live_and_equal_the_read_back(tmp_path: Path, read_backs: list[tuple[str, int]]) -> None:
    path = ROOT / "scenarios" / "small_routers.yaml"
    s = load(path)
    strategies = ["baseline", s.strategies[0].name]
    out = tmp_path / "run"
    outcome = execute(Experiment(path, s, strategies, 2, out, quiet=True), QUIET)
    assert outcome.status == "completed"
    assert read_backs == []  # no part was read back
    got = pq.read_table(out / "kpis.parquet")
    want = _read_back(out, s, [(st, _resolved(s, st, None)) for st in strategies], 2)
    _same_table(got, want)


def test_cli_sweep_points_on_two_processes(tmp_path: Path, read_backs: list[tuple[str, int]]) -> None:
    path = ROOT / "scenarios" / "small_routers.yaml"
    s = load(path)
    node = "korczowa_krakovets"
    points = [{f"nodes.{node}.servers": 1}, {f"nodes.{node}.servers": 6}]
    out = tmp_path / "sweep"
    outcome = execute(Experiment(path, s, ["baseline"], 1, out, quiet=True, jobs=2, points=points), QUIET)
    assert outcome.status == "completed"
    assert read_backs == []
    got = pq.read_table(out / "kpis.parquet")
    labels = [(f"baseline-pt{i:03d}", _resolved(s, "baseline", p)) for i, p in enumerate(points)]
    want = _read_back(out, s, labels, 1)
    _same_table(got, want)
    a, b = (
        [r["value"] for r in got.to_pylist() if r["kpi"] == "utilisation" and r["node"] == node and r["strategy"] == lb]
        for lb, _ in labels
    )
    assert a != b  # the sweep point reached the KPIs (servers differ)


def test_resume_reads_back_only_the_earlier_parts(tmp_path: Path, read_backs: list[tuple[str, int]]) -> None:
    path = ROOT / "scenarios" / "small_routers.yaml"
    s = load(path)
    out = tmp_path / "run"
    execute(Experiment(path, s, ["baseline"], 1, out, quiet=True), QUIET)
    assert read_backs == []
    execute(Experiment(path, s, ["baseline"], 2, out, quiet=True, resume=True), QUIET)
    assert read_backs == [("baseline", 0)]  # finished by the earlier process
    got = pq.read_table(out / "kpis.parquet")
    _same_table(got, _read_back(out, s, [("baseline", s)], 2))
