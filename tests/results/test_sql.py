"""SQL over run directories: DuckDB views events, kpis, runs and parts across several runs."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from rundirs import make_run_dir

from results.sql import SqlError, connect, find_runs, query
from results.store import read_events
from scenarios.load import load

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``runs/small`` (2 strategies x 2 reps), ``runs/nested/coalition`` (1 part), ``runs/empty`` (no manifest)."""
    root = tmp_path_factory.mktemp("runs")
    make_run_dir(root / "small", load(ROOT / "scenarios" / "small_routers.yaml"), ("baseline", "bilateral"), 2)
    make_run_dir(root / "nested" / "coalition", load(ROOT / "scenarios" / "it_coalition_2025.yaml"), ("baseline",), 1)
    (root / "empty").mkdir()
    return root


def test_events_across_several_runs(runs: Path) -> None:
    got = query(runs, "select kind, count(*) from events group by kind order by kind")
    want: Counter[str] = Counter()
    for run_dir in (runs / "small", runs / "nested" / "coalition"):
        want.update(read_events(run_dir).column("kind").to_pylist())
    assert got.columns == ["kind", "count_star()"]
    assert dict(got.rows) == dict(want)
    per_part = query(runs, "select run, strategy, replication, count(*) from events group by all order by all")
    expected = []
    for name, run_dir in (("nested/coalition", runs / "nested" / "coalition"), ("small", runs / "small")):
        for s in sorted({p["strategy"] for p in json.loads((run_dir / "manifest.json").read_text())["parts"]}):
            for r in range(2 if name == "small" else 1):
                expected.append((name, s, r, read_events(run_dir, s, r).num_rows))
    assert per_part.rows == expected
    cols = query(runs, "select * from events limit 1").columns
    assert cols[:3] == ["run", "strategy", "replication"]
    assert cols[3:] == ["seq", "t", "kind", "lot", "item", "qty", "node", "link", "vehicle", "ref", "value"]


def test_kpis_runs_and_parts(runs: Path) -> None:
    got = dict(query(runs, "select run, count(*) from kpis group by run").rows)
    assert got == {
        "small": pq.read_table(runs / "small" / "kpis.parquet").num_rows,
        "nested/coalition": pq.read_table(runs / "nested" / "coalition" / "kpis.parquet").num_rows,
    }
    r = query(runs, "select run, status, scenario, n_parts from runs order by run")
    assert r.rows == [
        ("nested/coalition", "completed", "it_coalition_2025", 1),
        ("small", "completed", "small_routers", 4),
    ]
    p = query(runs, "select run, strategy, replication, rows from parts order by all")
    assert len(p.rows) == 5
    # a cross-run question, answered without Python: delivered units per run and strategy
    q = query(
        runs,
        "select run, strategy, avg(value) from kpis where kpi = 'units_delivered' and item is null "
        "and node is null and link is null group by all order by all",
    )
    assert len(q.rows) == 3 and all(v > 0 for *_, v in q.rows)
    joined = query(runs, "select count(*) from events e join parts p using (run, strategy, replication)")
    assert joined.rows[0][0] == query(runs, "select count(*) from events").rows[0][0]


def test_one_run_directory(runs: Path) -> None:
    assert [r.name for r in find_runs(runs / "small")] == ["small"]
    r = query(runs / "small", "select distinct run from events")
    assert r.rows == [("small",)]
    assert [r.name for r in find_runs(runs / "small" / "manifest.json")] == ["small"]


def test_errors(runs: Path, tmp_path: Path) -> None:
    with pytest.raises(SqlError, match="no run directory"):
        query(runs / "empty", "select 1")
    with pytest.raises(SqlError, match="no such file"):
        query(tmp_path / "missing", "select 1")
    with pytest.raises(SqlError, match="query failed"):
        query(runs, "select nonsense from events")
    with connect(runs / "empty", require_runs=False) as con:
        assert con.execute("select count(*) from events").fetchall() == [(0,)]
        assert con.execute("select count(*) from kpis").fetchall() == [(0,)]
        assert con.execute("select count(*) from runs").fetchall() == [(0,)]
