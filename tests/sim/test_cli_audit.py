"""The audit commands through the real entry point: state, trace, export, sql (exit 0 / 2)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
import typer
from rundirs import make_run_dir

import sim.cli
from results.replay import end_state_from_log, lineages, state_at
from results.store.reading import read_events
from scenarios.load import load
from sim.cli.audit import parse_at, register

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = ("state", "trace", "export", "sql")

Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("runs")
    make_run_dir(root / "small", load(ROOT / "scenarios" / "small_routers.yaml"), ("baseline", "bilateral"))
    make_run_dir(root / "fpv", load(ROOT / "scenarios" / "fpv_drones_2024_2025.yaml"))
    return root


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    """Run ``aidflow ARGS`` through ``sim.cli.main``; returns (exit code, stdout, stderr)."""
    if not any(c.name == "state" for c in sim.cli.app.registered_commands):
        # until sim.cli registers the audit commands itself; undone after the test
        monkeypatch.setattr(sim.cli.app, "registered_commands", list(sim.cli.app.registered_commands))
        register(sim.cli.app)

    def invoke(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["aidflow", *map(str, args)])
        code = 0
        try:
            sim.cli.main()
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


def test_register_adds_the_commands_and_stays_light() -> None:
    app = typer.Typer()
    register(app)
    assert [c.name for c in app.registered_commands] == list(COMMANDS)
    probe = "import sys, sim.cli.audit; print(sorted(m for m in ('pyarrow', 'duckdb', 'numpy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_parse_at() -> None:
    import datetime as dt

    start = dt.date(2025, 5, 1)
    assert parse_at("2025-08-01", start, 180.0) == 92.0
    assert parse_at("2025-05-02T12:00", start, 180.0) == 1.5
    assert parse_at("12.25", start, 180.0) == 12.25
    assert parse_at("end", start, 180.0) == 180.0


def test_state(cli: Cli, runs: Path) -> None:
    code, out, _ = cli("state", runs / "small", "--at", "2025-06-12")
    assert code == 0
    assert "state at 2025-06-12 00:00 (day 42.000)" in out
    for word in ("Nodes", "Vehicles", "Stock", "Open requirements", "Open contracts", "Budget", "korczowa_krakovets"):
        assert word in out
    code, out, _ = cli("state", runs / "small", "--at", "2025-06-12", "--strategy", "bilateral", "--format", "json")
    assert code == 0
    data = json.loads(out)
    s = load(ROOT / "scenarios" / "small_routers.yaml").with_strategy("bilateral")
    want = state_at(read_events(runs / "small", "bilateral", 0), 42.0, s)
    assert data["end_state"] == json.loads(json.dumps(want.end_state(s)))
    assert data["strategy"] == "bilateral" and data["t"] == 42.0
    code, out, _ = cli("state", runs / "small", "--format", "json")  # default: the end of the run
    assert code == 0
    manifest = json.loads((runs / "small" / "manifest.json").read_text())
    end = end_state_from_log(
        read_events(runs / "small", "baseline", 0), load(ROOT / "scenarios" / "small_routers.yaml")
    )
    assert json.loads(out)["end_state"] == json.loads(json.dumps(end))
    assert manifest["parts"][0]["end_day"] == json.loads(out)["t"]


def test_trace_names_the_largest_wait_of_a_late_lot(cli: Cli, runs: Path) -> None:
    scenario = load(ROOT / "scenarios" / "fpv_drones_2024_2025.yaml")
    manifest = json.loads((runs / "fpv" / "manifest.json").read_text())
    every = lineages(read_events(runs / "fpv", "baseline", 0), scenario, end=manifest["parts"][0]["end_day"])
    late = sorted((lg for lg in every.values() if lg.late), key=lambda lg: -(lg.excess_days or 0.0))
    assert late, "the library scenario has late lots"
    for lg in (late[0], late[len(late) // 2]):
        assert lg.lot is not None and lg.culprit is not None
        assert lg.culprit.days == max(w.days for w in lg.waits)
        code, out, _ = cli("trace", runs / "fpv", "--lot", lg.lot)
        assert code == 0
        words = " ".join(out.split())
        assert f"lot {lg.lot}:" in out and "days late" in out
        assert f"What made it late: {lg.culprit.label}, {lg.culprit.days:.2f} days" in words
        for word in ("Timeline", "Waits, largest first", "History", "lot_produced"):
            assert word in out
        code, out, _ = cli("trace", runs / "fpv", "--lot", lg.lot, "--format", "json")
        data = json.loads(out)
        assert code == 0 and (data["culprit"]["kind"], data["culprit"]["resource"]) == (
            lg.culprit.kind,
            lg.culprit.resource,
        )
        assert data["no_wait_days"] + data["wait_days"] == pytest.approx(sum(x["days"] for x in data["steps"]))
    code, out, _ = cli("trace", runs / "fpv", "--requirement", late[0].requirement)
    assert code == 0
    assert f"requirement {late[0].requirement}" in out and "Critical part" in out and "Lots" in out


def test_trace_on_time_lot(cli: Cli, runs: Path) -> None:
    code, out, _ = cli("trace", runs / "small", "--lot", "3")
    assert code == 0 and "on time" in out and "not late." in out


def test_export(cli: Cli, runs: Path, tmp_path: Path) -> None:
    code, out, _ = cli("export", runs / "small", "--format", "ocel")
    assert code == 0
    assert "baseline-rep0.ocel.json" in out and "bilateral-rep0.ocel.json" in out and "events" in out
    doc = json.loads((runs / "small" / "export" / "baseline-rep0.ocel.json").read_text())
    assert len(doc["events"]) == read_events(runs / "small", "baseline", 0).num_rows
    target = tmp_path / "one.sqlite"
    code, out, _ = cli(
        "export", runs / "small", "--format", "ocel", "--out", target, "--strategy", "baseline", "--rep", "0"
    )
    assert code == 0 and target.is_file() and "ocel-sqlite" in out
    code, out, _ = cli("export", runs / "small", "--format", "csv", "--out", tmp_path / "e.csv")
    assert code == 0 and (tmp_path / "e.csv").is_file()


def test_sql_over_several_run_directories(cli: Cli, runs: Path) -> None:
    code, out, _ = cli("sql", runs, "select kind, count(*) from events group by kind", "--csv")
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["kind", "count_star()"]
    want: Counter[str] = Counter()
    for run_dir in (runs / "small", runs / "fpv"):
        want.update(read_events(run_dir).column("kind").to_pylist())
    assert {k: int(n) for k, n in rows[1:]} == dict(want)
    code, out, err = cli("sql", runs, "select run, count(*) as n from events group by run order by run")
    assert code == 0
    assert "fpv" in out and "small" in out and "2 rows" in err
    code, out, err = cli("sql", runs, "select * from events", "--max-rows", "3")
    assert code == 0 and "more not shown" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("state", "{runs}/nowhere", "--at", "2025-06-01"), "no such run directory"),
        (("state", "{runs}/small", "--at", "2025-13-01"), "not a date"),
        (("state", "{runs}/small", "--at", "2024-01-01"), "before the scenario start"),
        (("state", "{runs}/small", "--rep", "5"), "no part for strategy 'baseline' rep 5"),
        (("state", "{runs}/small", "--format", "xml"), "--format"),
        (("trace", "{runs}/small", "--lot", "999"), "no lot 999"),
        (("trace", "{runs}/small", "--requirement", "R9"), "no requirement 'R9'"),
        (("trace", "{runs}/small"), "exactly one of"),
        (("trace", "{runs}/small", "--lot", "1", "--requirement", "R1"), "exactly one of"),
        (("export", "{runs}/small", "--format", "xes"), "unknown export format"),
        (("export", "{runs}/small", "--out", "{runs}/x.json"), "parts match"),
        (("sql", "{runs}/small/events", "select 1"), "no run directory"),
        (("sql", "{runs}", "select nonsense from events"), "query failed"),
    ],
)
def test_bad_input_exits_2(cli: Cli, runs: Path, args: tuple[str, ...], message: str) -> None:
    code, out, err = cli(*(a.format(runs=runs) for a in args))
    assert code == 2, (out, err)
    assert message in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "statement",
    [
        "COPY (select 1) TO '{tmp}/x.csv'",
        "select * from read_csv('/etc/passwd')",
        "ATTACH '{tmp}/x.csv' AS x",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SET enable_external_access = true",
        "select 1; COPY (select 1) TO '{tmp}/x.csv'",
        "CREATE TABLE t AS SELECT 1",
    ],
)
def test_sql_refuses_writes_files_and_extensions(cli: Cli, runs: Path, tmp_path: Path, statement: str) -> None:
    code, out, err = cli("sql", runs, statement.format(tmp=tmp_path))
    assert code == 2, (out, err)
    assert err.startswith("error: refused: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and out == ""
    assert not (tmp_path / "x.csv").exists()


def test_sql_readme_query(cli: Cli, runs: Path) -> None:
    """The README's line: ``aidflow sql runs/ "select run, kind, count(*) from events group by all"``."""
    code, out, _ = cli("sql", runs, "select run, kind, count(*) from events group by all", "--csv")
    assert code == 0
    got = {(r, k): int(n) for r, k, n in list(csv.reader(io.StringIO(out)))[1:]}
    want: Counter[tuple[str, str]] = Counter()
    for name in ("small", "fpv"):
        for kind in read_events(runs / name).column("kind").to_pylist():
            want[(name, kind)] += 1
    assert got == dict(want)


def test_sql_prints_user_text_literally(cli: Cli, runs: Path) -> None:
    """Column names and values are data, not rich markup (``[/bold]`` alone used to crash)."""
    code, out, err = cli("sql", runs, """select '[/bold] and [red]x[/red]' as "[bold]c[/bold]" """)
    assert code == 0, err
    assert "[/bold] and [red]x[/red]" in out and "[bold]c[/bold]" in out
