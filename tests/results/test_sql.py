"""SQL over run directories: DuckDB views events, kpis, runs and parts across several runs."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from rundirs import make_run_dir

from results.sql import SqlError, connect, find_runs, query
from results.store.reading import read_events
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


# --------------------------------------------------------------------------- sandbox (issue 16 item 9)


def _attacks(tmp_path: Path) -> list[tuple[str, str]]:
    """(statement, why it must be refused): writing, reading outside the views, extensions, config."""
    outside = tmp_path / "outside.parquet"
    pq.write_table(pa.table({"a": [1, 2, 3]}), outside)
    return [
        (f"COPY (select 1) TO '{tmp_path / 'x.csv'}'", "writes a file"),
        ("select * from read_csv('/etc/passwd', sep = ':')", "reads a file"),
        (f"select * from read_parquet('{outside}')", "reads a Parquet file outside the runs"),
        (f"select * from '{outside}'", "reads a file by replacement scan"),
        ("select * from read_text('/etc/hostname')", "reads a file"),
        ("select * from glob('/etc/*')", "lists a directory"),
        (f"ATTACH '{tmp_path / 'other.duckdb'}' AS other", "opens another database"),
        ("INSTALL httpfs", "installs an extension"),
        ("LOAD httpfs", "loads an extension"),
        ("SET enable_external_access = true", "changes the configuration"),
        ("RESET lock_configuration", "changes the configuration"),
        ("PRAGMA enable_profiling", "changes the configuration"),
        ("SET VARIABLE x = 1", "sets state"),
        ("select 1; select 2", "two statements"),
        ("select 1; COPY (select 1) TO '/tmp/aidflow-sql-attack.csv'", "a write after a read"),
        ("CREATE TABLE t AS SELECT 1", "creates a table"),
        ("INSERT INTO t VALUES (1)", "writes a table"),
        (f"EXPORT DATABASE '{tmp_path / 'dump'}'", "writes files"),
        ("CALL pragma_version()", "a CALL"),
        ("EXPLAIN ANALYZE CREATE TABLE t AS SELECT 1", "EXPLAIN ANALYZE executes its statement"),
        ("CHECKPOINT", "not a read"),
        ("DETACH memory", "not a read"),
    ]


def test_every_attack_is_refused(runs: Path, tmp_path: Path) -> None:
    for statement, why in _attacks(tmp_path):
        with pytest.raises(SqlError, match=r"^refused: ") as info:
            query(runs, statement)
        assert "\n" not in str(info.value), (why, str(info.value))
    assert not (tmp_path / "x.csv").exists()
    assert not Path("/tmp/aidflow-sql-attack.csv").exists()
    assert not (tmp_path / "other.duckdb").exists()
    assert not (tmp_path / "dump").exists()


def test_refusal_names_the_reason(runs: Path, tmp_path: Path) -> None:
    with pytest.raises(SqlError, match=r"exactly one statement.*found 2"):
        query(runs, "select 1; select 2")
    with pytest.raises(SqlError, match=r"only a read query.*COPY"):
        query(runs, f"COPY (select 1) TO '{tmp_path / 'x.csv'}'")
    with pytest.raises(SqlError, match="no file, network or extension access"):
        query(runs, "select * from read_csv('/etc/passwd')")
    with pytest.raises(SqlError, match="empty"):
        query(runs, "  -- nothing\n ")


def test_connection_is_locked(runs: Path) -> None:
    """``connect`` hands out a connection that cannot be unlocked, even by code that bypasses ``query``."""
    with connect(runs) as con:
        settings = dict(
            con.execute(
                "select name, value from duckdb_settings() where name in ('enable_external_access', "
                "'autoinstall_known_extensions', 'autoload_known_extensions', 'lock_configuration', "
                "'python_enable_replacements')"
            ).fetchall()
        )
        assert settings == {
            "enable_external_access": "false",
            "autoinstall_known_extensions": "false",
            "autoload_known_extensions": "false",
            "lock_configuration": "true",
            "python_enable_replacements": "false",
        }
        for statement in ("SET enable_external_access = true", "SET lock_configuration = false"):
            with pytest.raises(duckdb.Error, match="locked"):
                con.execute(statement)
        # the views still read the run data with external access off
        assert con.execute("select count(*) from events").fetchall()[0][0] > 0
        assert con.execute("select count(*) from kpis").fetchall()[0][0] > 0


def test_read_queries_still_work(runs: Path) -> None:
    """The README's query, and the read forms besides SELECT: WITH, FROM-first, VALUES, DESCRIBE, SUMMARIZE."""
    got = query(runs, "select run, kind, count(*) from events group by all order by all")
    want: Counter[tuple[str, str]] = Counter()
    for name, run_dir in (("nested/coalition", runs / "nested" / "coalition"), ("small", runs / "small")):
        for kind in read_events(run_dir).column("kind").to_pylist():
            want[(name, kind)] += 1
    assert {(r, k): n for r, k, n in got.rows} == dict(want)
    n_events = sum(want.values())
    assert query(runs, "with e as (select * from events) select count(*) from e").rows == [(n_events,)]
    assert query(runs, "from events select count(*);").rows == [(n_events,)]
    assert query(runs, "values (1, 'a')").rows == [(1, "a")]
    described = query(runs, "describe events")
    assert [r[0] for r in described.rows][:4] == ["run", "strategy", "replication", "seq"]
    assert query(runs, "summarize runs").rows
    assert query(runs, "select count(*) from parts").rows == [(5,)]


def test_a_damaged_part_fails_only_the_queries_that_read_it(tmp_path: Path) -> None:
    """The views are lazy Arrow datasets: connecting reads no event data, so a damaged part only
    fails a query that scans it, with a one-line error."""
    run_dir = make_run_dir(tmp_path / "r", load(ROOT / "scenarios" / "small_routers.yaml"))
    part = next((run_dir / "events").rglob("rep=0.parquet"))
    part.write_bytes(b"not parquet at all")
    assert query(run_dir, "select status from runs").rows == [("completed",)]
    assert query(run_dir, "select count(*) > 0 from kpis").rows == [(True,)]
    with pytest.raises(SqlError, match="query failed"):
        query(run_dir, "select count(*) from events")
